"""Tiny CLIP towers with random weights and the checkpoint layouts users have, made from them.

``to_eva_clip`` renames keys as EVA-CLIP's module layout names them (written from that layout,
independently of :mod:`declip_mm.checkpoint.layouts`, which the tests check against it).
"""
import json
import os
import re
from typing import Dict

import torch

TIMM_TO_EVA_CLIP = [
    (r'^visual\.trunk\.', 'visual.'),
    (r'\.attn\.q_proj\.bias$', '.attn.q_bias'),
    (r'\.attn\.v_proj\.bias$', '.attn.v_bias'),
    (r'\.attn\.norm\.', '.attn.inner_attn_ln.'),
    (r'\.mlp\.norm\.', '.mlp.ffn_ln.'),
    (r'\.mlp\.fc1_g\.', '.mlp.w1.'),
    (r'\.mlp\.fc1_x\.', '.mlp.w2.'),
    (r'\.mlp\.fc2\.', '.mlp.w3.'),
]
"""(timm / open_clip pattern, EVA-CLIP name): EVA-CLIP's ``Attention.q_bias / v_bias /
inner_attn_ln`` and ``SwiGLU w1 / w2 / ffn_ln / w3``."""


@torch.no_grad()
def randomize(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Every parameter drawn from N(0, 0.2^2) (seeded), in place; returns ``model``."""
    g = torch.Generator().manual_seed(seed)
    for p in model.parameters():
        p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    return model


def random_tower(arch: dict, seed: int = 0):
    """A ``DeCLIPViT(arch, mode='csa')`` with :func:`randomize` weights, in eval mode."""
    from declip_mm.models.backbones import DeCLIPViT
    return randomize(DeCLIPViT(arch, mode='csa'), seed).eval()


def random_text_encoder(arch: dict, seed: int):
    """A ``DeCLIPTextEncoder(arch)`` (one template) with N(0, 0.2^2) text-tower weights, eval."""
    from declip_mm.models.text import DeCLIPTextEncoder
    enc = DeCLIPTextEncoder(arch, templates=['a photo of a {}.'])
    randomize(enc.text, seed)
    return enc.eval()


def to_eva_clip(sd: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """``visual.trunk.*`` timm names -> EVA-CLIP ``visual.*`` names; other keys unchanged."""
    out = {}
    for key, value in sd.items():
        for pattern, repl in TIMM_TO_EVA_CLIP:
            key = re.sub(pattern, repl, key)
        out[key] = value
    return out


def text_keys(arch: dict, prefix: str) -> Dict[str, torch.Tensor]:
    """The state dict of a fresh open_clip text tower of ``arch``, keys prefixed by ``prefix``."""
    from open_clip.model import _build_text_tower
    text = _build_text_tower(arch['embed_dim'], arch['text_cfg'], quick_gelu=True)
    return {prefix + k: v for k, v in text.state_dict().items()}


def convert_tool():
    """The ``tools/convert_checkpoint.py`` module (its ``main`` takes an argv list)."""
    from .scripts import load_script
    return load_script('tools/convert_checkpoint.py')


def register_tiny_timm_eva(arch: dict) -> str:
    """Register (once) a timm model name for the tiny EVA02 tower ``arch``, so open_clip can
    build it as a ``TimmModel``; returns the name."""
    import timm
    from timm.models import register_model
    from timm.models.eva import Eva
    name = 'declip_mm_test_eva02_tiny'
    if name not in timm.list_models(name):
        v = arch['vision_cfg']

        def declip_mm_test_eva02_tiny(pretrained=False, **kwargs):
            kwargs = {k: w for k, w in kwargs.items() if k in ('num_classes', 'global_pool')}
            return Eva(img_size=v['image_size'], patch_size=v['patch_size'], embed_dim=v['width'],
                       depth=v['layers'], num_heads=v['width'] // v['head_width'],
                       mlp_ratio=v['mlp_ratio'], qkv_fused=False, swiglu_mlp=True, scale_mlp=True,
                       scale_attn_inner=True, use_rot_pos_emb=True,
                       ref_feat_shape=(v['pt_hw_seq_len'],) * 2, **kwargs)

        register_model(declip_mm_test_eva02_tiny)
    return name


def open_clip_model(arch: dict, folder, name: str, eva: bool):
    """Write ``arch`` as the open_clip model config ``folder/<name>.json`` (EVA: a timm tower,
    see :func:`register_tiny_timm_eva`), add it to open_clip's configs and return its path."""
    import open_clip
    if eva:
        cfg = dict(embed_dim=arch['embed_dim'], custom_text=True, text_cfg=arch['text_cfg'],
                   vision_cfg=dict(image_size=arch['vision_cfg']['image_size'],
                                   timm_model_name=register_tiny_timm_eva(arch),
                                   timm_model_pretrained=False, timm_pool='token', timm_proj=None))
    else:
        cfg = dict(arch)
    path = os.path.join(str(folder), f'{name}.json')
    with open(path, 'w') as f:
        json.dump(cfg, f)
    open_clip.add_model_config(path)
    return path
