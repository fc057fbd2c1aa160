"""Key-conversion tables, one module per source format, as pure ``state_dict -> state_dict``
functions in the style of timm's ``checkpoint_filter_fn``:

* :mod:`.eva_clip`: official DeCLIP / EVA-CLIP names <-> declip_mm (both directions);
* :mod:`.open_clip`: open_clip / declip_mm layouts (where each tower sits);
* :mod:`.openai`: OpenAI TorchScript archives;
* :mod:`.timm`: bare timm ``Eva`` towers;
* :mod:`.vfm`: DINO / DINOv2 / SAM files for the VFM teachers.

Other components add their own tables here (e.g. the detector's and CAT-Seg's official
layouts). :func:`visual_state_dict` and :func:`text_state_dict` recognise the CLIP layouts.
"""
from typing import Dict

from torch import Tensor

from . import eva_clip, open_clip, openai, timm
from .eva_clip import eva_clip_to_timm, timm_to_eva_clip
from .open_clip import strip_prefix, text_tower


def visual_state_dict(sd: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """The image tower in declip_mm's layout (``visual.*``), from any known CLIP layout.

    Recognised: declip_mm / open_clip (``visual.*``, possibly under a model's prefix, see
    :data:`.open_clip.VISUAL_PREFIXES`), EVA-CLIP / official DeCLIP names (renamed), OpenAI
    TorchScript state dicts and vision-only files (timm or EVA-CLIP names).
    """
    sub = open_clip.first_prefixed(sd, open_clip.VISUAL_PREFIXES, 'visual.')
    if sub is None and timm.is_bare_tower(sd):
        if not timm.is_eva_clip_named(sd):
            return timm.timm_to_open_clip(sd)
        sub = {'visual.' + k: v for k, v in sd.items()}
    sub = openai.openai_jit_to_open_clip(sub or {})
    if eva_clip.is_eva_clip(sub):
        sub = eva_clip_to_timm(sub)
    return {k: v for k, v in sub.items() if k.startswith('visual.')}


def text_state_dict(sd: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """The text tower in open_clip ``TextTransformer`` names (no prefix), from any known
    layout (see :data:`.open_clip.TEXT_PREFIXES`); empty if there is none."""
    return text_tower(openai.openai_jit_to_open_clip(sd))


__all__ = ['eva_clip', 'open_clip', 'openai', 'timm', 'visual_state_dict', 'text_state_dict',
           'eva_clip_to_timm', 'timm_to_eva_clip', 'strip_prefix']
