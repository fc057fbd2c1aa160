"""Which student parameters stay frozen during DeCLIP distillation.

Official setting (``--lock-image --lock-image-unlocked-groups 12|24`` and the per-mode freeze
lists of ``xiaomoguhz/DeCLIP`` ``src/training/utils.py``): every transformer block trains except
the parts the decoupled forward does not use; the embeddings and the output head stay frozen.

* EVA02 (timm names under ``visual.trunk``): ``patch_embed``, ``pos_embed``, ``cls_token``,
  final ``norm`` / ``fc_norm``, ``head``; the last block's ``norm2`` and ``mlp``; plus the last
  block's ``k_proj`` in ``qq`` mode, ``q_proj`` in ``kk`` mode, both in ``vv`` mode.
* OpenAI-style ViTs (open_clip names): ``conv1``, ``class_embedding``,
  ``positional_embedding``, ``ln_pre`` (open_clip's ``lock()`` groups it with the embeddings),
  ``ln_post``, ``proj``; the last block's ``ln_2``, ``mlp`` and ``ls_2``. Q, K and V share one
  fused ``in_proj_weight`` there, so the per-mode Q / K freezing cannot be expressed by
  ``requires_grad`` and is not applied (the unused rows get zero gradients).
"""
import fnmatch
from typing import List, Optional, Sequence

from torch import nn

from ...utils.errors import ConfigError


def default_frozen_patterns(family: str, depth: int, mode: str) -> List[str]:
    """fnmatch patterns (names relative to ``DeCLIPViT``) frozen by the official recipe.

    Args:
        family: ``'eva'`` or ``'openai'`` (``DeCLIPViT.ops.family``).
        depth: number of blocks.
        mode: the student's decoupled mode.
    """
    if family == 'eva':
        last = f'visual.trunk.blocks.{depth - 1}'
        pats = ['visual.trunk.patch_embed.*', 'visual.trunk.pos_embed', 'visual.trunk.cls_token',
                'visual.trunk.norm.*', 'visual.trunk.fc_norm.*', 'visual.trunk.head.*',
                f'{last}.norm2.*', f'{last}.mlp.*']
        unused = {'qq': ('k_proj',), 'kk': ('q_proj',), 'vv': ('q_proj', 'k_proj')}
        pats += [f'{last}.attn.{name}.*' for name in unused.get(mode, ())]
        return pats
    if family == 'openai':
        last = f'visual.transformer.resblocks.{depth - 1}'
        return ['visual.conv1.*', 'visual.class_embedding', 'visual.positional_embedding',
                'visual.ln_pre.*', 'visual.ln_post.*', 'visual.proj',
                f'{last}.ln_2.*', f'{last}.mlp.*', f'{last}.ls_2.*']
    raise ConfigError(f'no default freeze list for tower family {family!r}')


def freeze_parameters(module: nn.Module, patterns: Sequence[str],
                      strict: bool = False) -> List[str]:
    """Set ``requires_grad=False`` on parameters whose names match any pattern.

    Args:
        module: the student.
        patterns: fnmatch patterns of parameter names.
        strict: raise ``ConfigError`` if a pattern matches nothing (for user-given lists).

    Returns:
        the frozen names, sorted.
    """
    names = [n for n, _ in module.named_parameters()]
    if strict:
        unused = [p for p in patterns if not any(fnmatch.fnmatchcase(n, p) for n in names)]
        if unused:
            raise ConfigError(f'frozen parameter patterns match nothing: {unused}')
    frozen = []
    for name, param in module.named_parameters():
        if any(fnmatch.fnmatchcase(name, p) for p in patterns):
            param.requires_grad_(False)
            frozen.append(name)
    return sorted(frozen)


def apply_distill_freezing(student: nn.Module, frozen: Optional[Sequence[str]] = None
                           ) -> List[str]:
    """Freeze the official list for ``student`` (a ``DeCLIPViT``), or the given patterns."""
    if frozen is None:
        pats = default_frozen_patterns(student.ops.family, student.depth, student.mode)
        return freeze_parameters(student, pats)
    return freeze_parameters(student, list(frozen), strict=True)
