"""Writing declip_mm CLIP encoders in the layouts other code bases load.

* :func:`to_open_clip`: open_clip's layout (``open_clip.create_model(NAME, pretrained=FILE)``):
  EVA02 towers as ``visual.trunk.*`` plus ``text.*`` (``CustomTextCLIP``), OpenAI-style towers
  as ``visual.*`` plus top-level text keys (``CLIP``).
* :func:`to_official`: the official EVA-CLIP / DeCLIP layout (the inverse of
  :func:`.layouts.eva_clip.eva_clip_to_timm`, RoPE buffers re-created as EVA-CLIP builds them),
  so the official ZSSS, CAT-Seg and F-ViT code bases load a declip_mm-distilled encoder.
  OpenAI-style towers are already in the official (open_clip) names.

The input is any state dict :func:`.layouts.visual_state_dict` reads (a ``DeCLIPViT`` or
ensembled backbone file, a detector / segmentor / distiller checkpoint, an official file).
Text keys and ``logit_scale`` are written when the input has a text tower; without a
``logit_scale``, CLIP's initial value ``ln(1 / 0.07)`` (it does not change the embeddings).
"""
import math
from typing import Dict, Optional, Union

import torch
from torch import Tensor

from ..utils.errors import CheckpointError
from .layouts import text_state_dict, timm_to_eva_clip, visual_state_dict
from .layouts.eva_clip import CLIP_INIT_LOGIT_SCALE
from .mismatch import check_fits
from .reading import inspect_checkpoint
from .towers import adopt_pos_embed_shape

Arch = Union[str, dict, None]


def family_of(visual: Dict[str, Tensor]) -> str:
    """``'eva'`` for timm ``Eva`` towers (``visual.trunk.*``), else ``'openai'``."""
    return 'eva' if any(k.startswith('visual.trunk.') for k in visual) else 'openai'


def towers(sd: Dict[str, Tensor], arch: Arch = None):
    """``(visual, text, family)`` of ``sd``, checked strictly against ``arch`` if given."""
    visual = visual_state_dict(sd)
    if not visual:
        raise CheckpointError('no image-tower weights found (expected "visual." keys in the '
                              'declip_mm, detector, open_clip or EVA-CLIP layout)')
    family = family_of(visual)
    text = text_state_dict(sd)
    if arch is not None:
        check_against_arch(visual, text, arch, family)
    return visual, text, family


def _logit_scale(sd: Dict[str, Tensor]) -> Tensor:
    scale = sd.get('logit_scale')  # CLIP's own; a detector head's scale is not it
    return scale if scale is not None else torch.tensor(CLIP_INIT_LOGIT_SCALE)


def _detached(sd: Dict[str, Tensor]) -> Dict[str, Tensor]:
    return {k: v.detach().clone().contiguous() for k, v in sd.items()}


def to_open_clip(sd: Dict[str, Tensor], arch: Arch = None) -> Dict[str, Tensor]:
    """declip_mm / DeCLIP / EVA-CLIP tensors -> open_clip state dict (module docstring)."""
    visual, text, family = towers(sd, arch)
    out = dict(visual)
    if text:
        out.update({('text.' if family == 'eva' else '') + k: v for k, v in text.items()})
        out['logit_scale'] = _logit_scale(sd)
    return _detached(out)


def to_official(sd: Dict[str, Tensor], arch: Arch = None,
                vision_cfg: Optional[dict] = None) -> Dict[str, Tensor]:
    """declip_mm tensors -> the official EVA-CLIP / DeCLIP layout (module docstring).

    EVA02 towers need the architecture for the RoPE buffers: ``vision_cfg``, else that of
    ``arch`` (name or dict), else the one :func:`infer_eva_vision_cfg` reads off the tensors.
    """
    visual, text, family = towers(sd, arch)
    if family != 'eva':
        return to_open_clip(sd, arch)
    if vision_cfg is None:
        vision_cfg = (_resolve(arch)['vision_cfg'] if arch is not None
                      else infer_eva_vision_cfg(visual))
    out = timm_to_eva_clip(visual, vision_cfg)
    if text:
        out.update({'text.' + k: v for k, v in text.items()})
        out['logit_scale'] = _logit_scale(sd)
    return _detached(out)


def infer_eva_vision_cfg(visual: Dict[str, Tensor]) -> dict:
    """An EVA02 ``vision_cfg`` from the tensors, with the official EVA02-CLIP constants
    (``head_width`` 64, ``pt_hw_seq_len`` 16); pass ``arch`` for other towers."""
    proj = visual['visual.trunk.patch_embed.proj.weight']
    tokens = visual['visual.trunk.pos_embed'].shape[1] - 1
    patch = proj.shape[-1]
    return dict(width=proj.shape[0], patch_size=patch, image_size=math.isqrt(tokens) * patch,
                head_width=64, pt_hw_seq_len=16, rope=True)


def _resolve(arch: Union[str, dict]) -> dict:
    from ..models.backbones.archs import resolve_arch
    return resolve_arch(arch)


def check_against_arch(visual: Dict[str, Tensor], text: Dict[str, Tensor],
                       arch: Union[str, dict], family: str) -> None:
    """Strict fit into declip_mm's modules of ``arch``; ``CheckpointError`` on any mismatch."""
    from ..models.backbones import DeCLIPViT
    from ..models.backbones.archs import is_eva
    cfg = _resolve(arch)
    name = arch if isinstance(arch, str) else '(dict)'
    if ('eva' if is_eva(cfg) else 'openai') != family:
        raise CheckpointError(f'the checkpoint holds an {family} image tower, --arch {name} '
                              'is not one')
    model = DeCLIPViT(cfg)
    adopt_pos_embed_shape(model, visual)
    check_fits(model.state_dict(), visual, 'the weights', f'DeCLIPViT of --arch {name}')
    if text:
        from ..models.text import DeCLIPTextEncoder
        check_fits(DeCLIPTextEncoder(cfg).text.state_dict(), text, 'the weights',
                   f'the text tower of --arch {name}')



def recorded_arch(path: Optional[str]) -> Optional[dict]:
    """The ``meta.arch`` an ensembled backbone file records (``DeCLIPEnsembleCheckpointHook``)."""
    if not path:
        return None
    try:
        meta = inspect_checkpoint(path).get('meta')
    except CheckpointError:
        return None
    arch = meta.get('arch') if isinstance(meta, dict) else None
    return arch if isinstance(arch, dict) and 'vision_cfg' in arch else None


def export(sd: Dict[str, Tensor], layout: str = 'open_clip', arch: Arch = None,
           path: Optional[str] = None) -> Dict[str, Tensor]:
    """``sd`` in ``layout`` (``'open_clip'`` or ``'official'``), for ``tools/convert_checkpoint.py``.

    ``arch`` checks the weights strictly; without it, the official layout takes the RoPE
    geometry from the file's recorded arch (``path``), else from the tensors.
    """
    if layout == 'open_clip':
        return to_open_clip(sd, arch)
    if layout != 'official':
        raise CheckpointError(f'unknown layout {layout!r}: open_clip or official')
    recorded = recorded_arch(path) if arch is None else None
    return to_official(sd, arch, recorded['vision_cfg'] if recorded else None)


def summary(out: Dict[str, Tensor]) -> str:
    """``'N image-tower tensors (family), M text-tower tensors, logit_scale'``."""
    n_vis = sum(k.startswith('visual.') for k in out)
    n_txt = len(out) - n_vis - ('logit_scale' in out)
    fam = 'eva' if any(k.startswith(('visual.trunk.', 'visual.blocks.')) for k in out) \
        else 'openai'
    return (f'{n_vis} image-tower tensors ({fam}), {n_txt} text-tower tensors'
            + (', logit_scale' if 'logit_scale' in out else ''))
