"""Tiny CLIP towers and checkpoint layouts built from them, for tests/checkpoint/."""
import json
import re

import torch

from declip_mm.models.backbones import DeCLIPViT

# timm (declip_mm / open_clip) name -> EVA-CLIP name, written from the EVA-CLIP module layout
# (Attention.q_bias / v_bias / inner_attn_ln, SwiGLU w1 / w2 / ffn_ln / w3).
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


@torch.no_grad()
def randomize(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    for p in model.parameters():
        p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    return model


def source(arch, seed=0):
    return randomize(DeCLIPViT(arch, mode='csa'), seed).eval()


def to_eva_clip(sd):
    out = {}
    for key, value in sd.items():
        for pattern, repl in TIMM_TO_EVA_CLIP:
            key = re.sub(pattern, repl, key)
        out[key] = value
    return out


def text_keys(arch, prefix):
    from open_clip.model import _build_text_tower
    text = _build_text_tower(arch['embed_dim'], arch['text_cfg'], quick_gelu=True)
    return {prefix + k: v for k, v in text.state_dict().items()}




def convert_tool():
    from declip_mm.testing.scripts import load_script
    return load_script('tools/convert_checkpoint.py')


def text_encoder(arch, seed):
    from declip_mm.models.text import DeCLIPTextEncoder
    enc = DeCLIPTextEncoder(arch, templates=['a photo of a {}.'])
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in enc.text.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    return enc.eval()


def register_tiny_timm_eva(arch):
    """A timm model name for the tiny EVA02 tower, so open_clip can build it (TimmModel)."""
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


def open_clip_model(arch, tmp_path, name, eva):
    """open_clip.create_model for a tiny config written to a JSON file."""
    import open_clip
    if eva:
        cfg = dict(embed_dim=arch['embed_dim'], custom_text=True, text_cfg=arch['text_cfg'],
                   vision_cfg=dict(image_size=arch['vision_cfg']['image_size'],
                                   timm_model_name=register_tiny_timm_eva(arch),
                                   timm_model_pretrained=False, timm_pool='token', timm_proj=None))
    else:
        cfg = dict(arch)
    path = tmp_path / f'{name}.json'
    path.write_text(json.dumps(cfg))
    open_clip.add_model_config(str(path))
    return path
