"""Official DeCLIP / EVA-CLIP key names <-> declip_mm's (open_clip's timm ``Eva`` names).

Official DeCLIP and EVA-CLIP files name the EVA02 image tower as EVA-CLIP's
``EVAVisionTransformer`` does (``visual.blocks.N.attn.q_bias``, ``mlp.w1`` ...). declip_mm keeps
open_clip's layout, where the tower is timm's ``Eva`` under ``visual.trunk.``. The table below is
the renaming timm applies to EVA-CLIP checkpoints. Buffers that are computed from the
architecture (RoPE frequencies, relative-position indices) are dropped on the way in and
re-created on the way out, the way EVA-CLIP's model builds them.
"""
import math
import re
from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor

EVA_RENAMES: List[Tuple[str, str]] = [
    (r'\.attn\.q_bias$', '.attn.q_proj.bias'),
    (r'\.attn\.v_bias$', '.attn.v_proj.bias'),
    (r'\.attn\.inner_attn_ln\.', '.attn.norm.'),
    (r'\.mlp\.ffn_ln\.', '.mlp.norm.'),
    (r'\.mlp\.w1\.', '.mlp.fc1_g.'),
    (r'\.mlp\.w2\.', '.mlp.fc1_x.'),
    (r'\.mlp\.w3\.', '.mlp.fc2.'),
]
"""(EVA-CLIP pattern, timm replacement), applied to ``visual.*`` keys."""

TIMM_RENAMES: List[Tuple[str, str]] = [
    (r'\.attn\.q_proj\.bias$', '.attn.q_bias'),
    (r'\.attn\.v_proj\.bias$', '.attn.v_bias'),
    (r'\.attn\.norm\.', '.attn.inner_attn_ln.'),
    (r'\.mlp\.norm\.', '.mlp.ffn_ln.'),
    (r'\.mlp\.fc1_g\.', '.mlp.w1.'),
    (r'\.mlp\.fc1_x\.', '.mlp.w2.'),
    (r'\.mlp\.fc2\.', '.mlp.w3.'),
]
"""The inverse of :data:`EVA_RENAMES` (timm pattern, EVA-CLIP replacement)."""

DROPPED = re.compile(r'(^|\.)rope\.|relative_position_index|\.attn\.k_bias$')
"""Derived buffers: recomputed by the model (RoPE, relative-position index) or always zero
(``k_bias`` of fused-qkv towers)."""


def is_eva_clip(sd: Dict[str, Tensor]) -> bool:
    """Whether ``visual.*`` keys are in EVA-CLIP names (no ``visual.trunk.``)."""
    return any(k.startswith('visual.blocks.') or k == 'visual.patch_embed.proj.weight'
               for k in sd)


def eva_clip_to_timm(sd: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """EVA-CLIP ``visual.*`` keys -> ``visual.trunk.*`` timm names; other keys are dropped."""
    out = {}
    for key, value in sd.items():
        if not key.startswith('visual.') or DROPPED.search(key):
            continue
        new = 'visual.trunk.' + key[len('visual.'):]
        for pattern, repl in EVA_RENAMES:
            new = re.sub(pattern, repl, new)
        out[new] = value
    return out


def timm_to_eva_clip(sd: Dict[str, Tensor], vision_cfg: Optional[dict] = None
                     ) -> Dict[str, Tensor]:
    """``visual.trunk.*`` timm names -> EVA-CLIP ``visual.*``, RoPE buffers re-created.

    Args:
        sd: declip_mm image-tower keys (other keys are dropped).
        vision_cfg: the tower's EVA-CLIP ``vision_cfg``; with ``rope`` set, the buffers
            ``visual.rope.freqs_{cos,sin}`` and their per-block aliases
            ``visual.blocks.N.attn.rope.*`` (the official attention holds the shared module)
            are written as :func:`rope_frequencies` computes them.
    """
    out = {}
    for key, value in sd.items():
        if not key.startswith('visual.trunk.'):
            continue
        new = 'visual.' + key[len('visual.trunk.'):]
        for pattern, repl in TIMM_RENAMES:
            new = re.sub(pattern, repl, new)
        out[new] = value
    if vision_cfg and vision_cfg.get('rope'):
        cos, sin = rope_frequencies(vision_cfg)
        blocks = sorted({int(m.group(1)) for k in out
                         for m in [re.match(r'visual\.blocks\.(\d+)\.', k)] if m})
        for where in ['visual.rope.'] + [f'visual.blocks.{i}.attn.rope.' for i in blocks]:
            out[where + 'freqs_cos'], out[where + 'freqs_sin'] = cos.clone(), sin.clone()
    return out


def rope_frequencies(vision_cfg: dict) -> Tuple[Tensor, Tensor]:
    """EVA-CLIP's 2-D rotary table: ``(cos, sin)``, each ``(G*G, head_dim)``, float32.

    ``G = image_size // patch_size`` positions per side, sampled on the pretraining grid of
    ``pt_hw_seq_len`` (``intp_freq``, set in every official EVA02-CLIP config; without it
    ``G = pt_hw_seq_len``). Each half of the head's channels rotates with one axis (rows
    first), at frequencies ``10000 ** (-2j / (head_dim / 2))``, each used for two adjacent
    channels.
    """
    heads = vision_cfg['width'] // vision_cfg.get('head_width', 64)
    half = vision_cfg['width'] // heads // 2
    pt = vision_cfg.get('pt_hw_seq_len', 16)
    grid = vision_cfg['image_size'] // vision_cfg['patch_size']
    ft = grid if vision_cfg.get('intp_freq', True) else pt
    inv = 1.0 / (10000 ** (torch.arange(0, half, 2)[:half // 2].float() / half))
    pos = torch.arange(ft) / ft * pt
    axis = (pos[:, None] * inv[None]).repeat_interleave(2, dim=-1)  # (ft, half)
    rows = axis[:, None, :].expand(ft, ft, axis.shape[-1])
    cols = axis[None, :, :].expand(ft, ft, axis.shape[-1])
    freqs = torch.cat([rows, cols], dim=-1).reshape(ft * ft, -1)
    return freqs.cos(), freqs.sin()


CLIP_INIT_LOGIT_SCALE = math.log(1 / 0.07)
"""CLIP's initial ``logit_scale`` (written when a file has a text tower but no scale)."""
