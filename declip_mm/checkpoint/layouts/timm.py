"""timm ``Eva`` image towers stored on their own (``blocks.N.attn.q_proj.weight`` ...).

open_clip wraps the timm tower as ``visual.trunk``; a bare timm state dict only needs that
prefix, minus the buffers timm recomputes (:data:`.eva_clip.DROPPED`). Bare towers in EVA-CLIP
names (``q_bias``, ``mlp.w1`` ...) go through :mod:`.eva_clip` instead.
"""
import re
from typing import Dict

from torch import Tensor

from .eva_clip import DROPPED

TOWER_KEYS = ('blocks.', 'patch_embed.')
EVA_CLIP_ONLY = re.compile(r'\.attn\.(q_bias|v_bias|inner_attn_ln\.)|\.mlp\.(w[123]|ffn_ln)\.')


def is_bare_tower(sd: Dict[str, Tensor]) -> bool:
    """A vision-only file without the ``visual.`` prefix (timm or EVA-CLIP names)."""
    return any(k.startswith(TOWER_KEYS) for k in sd)


def is_eva_clip_named(sd: Dict[str, Tensor]) -> bool:
    return any(EVA_CLIP_ONLY.search(k) for k in sd)


def timm_to_open_clip(sd: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """Bare timm ``Eva`` keys -> open_clip's ``visual.trunk.*``."""
    return {'visual.trunk.' + k: v for k, v in sd.items() if not DROPPED.search(k)}
