"""Which student parameters stay frozen during DeCLIP distillation (the official list).

Official setting (``--lock-image --lock-image-unlocked-groups 12|24`` and the per-mode freeze
lists of ``xiaomoguhz/DeCLIP`` ``src/training/utils.py``), expressed on the one layer-group
partition of ``models/freezing.py``: the ``embed`` and ``head`` groups stay frozen, every block
trains except the parts of the last block that the decoupled forward does not use:

* EVA02 (timm names): its ``norm2`` and ``mlp``; plus ``k_proj`` in ``qq`` mode, ``q_proj`` in
  ``kk`` mode, both in ``vv`` mode.
* OpenAI-style ViTs (open_clip names): its ``ln_2``, ``mlp`` and ``ls_2``. Q, K and V share one
  fused ``in_proj_weight`` there, so the per-mode Q / K freezing cannot be expressed by
  ``requires_grad`` and is not applied (the unused rows get zero gradients).
"""
from typing import Dict, List, Optional, Sequence, Tuple

from torch import nn

from ...utils.errors import ConfigError
from ..freezing import check_patterns, freeze, matching

# parts of the last block the decoupled forward does not use (patterns on its parameter names)
UNUSED_IN_LAST_BLOCK: Dict[str, Tuple[str, ...]] = {
    'eva': ('*.norm2.*', '*.mlp.*'),
    'openai': ('*.ln_2.*', '*.mlp.*', '*.ls_2.*'),
}
UNUSED_EVA_PROJ: Dict[str, Tuple[str, ...]] = {
    'qq': ('*.attn.k_proj.*',), 'kk': ('*.attn.q_proj.*',),
    'vv': ('*.attn.q_proj.*', '*.attn.k_proj.*')}


def official_frozen_names(student: nn.Module) -> List[str]:
    """Names of the student (a ``DeCLIPViT``) that the official recipe freezes, sorted."""
    family = student.ops.family
    if family not in UNUSED_IN_LAST_BLOCK:
        raise ConfigError(f'no default freeze list for tower family {family!r}')
    groups = student.layer_groups()
    patterns = UNUSED_IN_LAST_BLOCK[family]
    if family == 'eva':
        patterns += UNUSED_EVA_PROJ.get(student.mode, ())
    last = matching(groups[f'block.{student.depth - 1}'], patterns)
    return sorted(groups['embed'] + groups['head'] + last)


def apply_distill_freezing(student: nn.Module, frozen: Optional[Sequence[str]] = None
                           ) -> List[str]:
    """Freeze the official list for ``student``, or the parameters matching ``frozen``
    (fnmatch patterns, each of which must match something). Returns the frozen names."""
    if frozen is None:
        return freeze(student, official_frozen_names(student))
    names = [n for n, _ in student.named_parameters()]
    check_patterns(names, list(frozen), 'frozen_student_params')
    return freeze(student, matching(names, list(frozen)))
