"""Key-conversion tables (declip_mm.checkpoint.layouts): EVA-CLIP <-> timm names both ways, the
RoPE buffers against timm's own rotary table, and where each model keeps its towers."""
import pytest
import torch

from declip_mm.checkpoint import text_state_dict, unwrap_state_dict, visual_state_dict
from declip_mm.checkpoint.layouts import eva_clip, openai, timm_to_eva_clip
from declip_mm.checkpoint.layouts.open_clip import strip_prefix
from declip_mm.testing.checkpoints import random_tower, text_keys, to_eva_clip


def timm_rope(head_dim, grid, pt):
    """``(cos, sin)`` of timm's ``RotaryEmbeddingCat`` as timm's ``Eva`` builds it."""
    from timm.layers import RotaryEmbeddingCat
    rope = RotaryEmbeddingCat(head_dim, in_pixels=False, feat_shape=[grid, grid],
                              ref_feat_shape=(pt, pt))
    sin, cos = rope.get_embed().chunk(2, dim=-1)
    return cos, sin


@pytest.mark.parametrize('width,heads,image,patch,pt', [
    (768, 12, 224, 16, 16),     # EVA02-CLIP-B-16: 14x14 grid sampled on the 16x16 one
    (1024, 16, 336, 14, 16),    # EVA02-CLIP-L-14-336: 24x24 on 16x16
    (64, 4, 48, 8, 4)])         # tiny, 6x6 on 4x4
def test_rope_frequencies_equal_timm_rotary_table(width, heads, image, patch, pt):
    cos, sin = eva_clip.rope_frequencies(dict(width=width, head_width=width // heads,
                                              image_size=image, patch_size=patch,
                                              pt_hw_seq_len=pt, rope=True))
    ref_cos, ref_sin = timm_rope(width // heads, image // patch, pt)
    assert cos.shape == ((image // patch) ** 2, width // heads) and cos.dtype == torch.float32
    assert torch.allclose(cos, ref_cos, atol=1e-6) and torch.allclose(sin, ref_sin, atol=1e-6)
    # without intp_freq the official model keeps the pretraining grid
    cos_pt, _ = eva_clip.rope_frequencies(dict(width=width, head_width=width // heads,
                                               image_size=image, patch_size=patch,
                                               pt_hw_seq_len=pt, intp_freq=False))
    assert cos_pt.shape[0] == pt * pt


def test_eva_clip_table_round_trips(tiny_eva):
    sd = random_tower(tiny_eva).state_dict()
    official = to_eva_clip(sd)
    assert 'visual.blocks.0.attn.q_bias' in official and 'visual.blocks.0.mlp.w3.weight' in official
    back = eva_clip.eva_clip_to_timm({**official, 'visual.rope.freqs_cos': torch.ones(1),
                                      'visual.blocks.0.attn.k_bias': torch.zeros(64)})
    assert back.keys() == sd.keys() and all(torch.equal(back[k], sd[k]) for k in sd)
    again = timm_to_eva_clip(sd)      # without a vision_cfg: no RoPE buffers
    assert again.keys() == official.keys()
    with_rope = timm_to_eva_clip(sd, tiny_eva['vision_cfg'])
    rope_keys = sorted(set(with_rope) - set(official))
    assert rope_keys == sorted(['visual.rope.freqs_cos', 'visual.rope.freqs_sin'] +
                               [f'visual.blocks.{i}.attn.rope.freqs_{f}'
                                for i in range(4) for f in ('cos', 'sin')])


@pytest.mark.parametrize('prefix', ['vocabulary.text_encoder.text.', 'text_encoder.text.',
                                    'classifier.text_encoder.text.', 'text.', ''])
def test_text_tower_found_under_every_model_prefix(tiny_vit, prefix):
    text = text_keys(tiny_vit, '')
    sd = {prefix + k: v for k, v in text.items()}
    sd.update({'backbone.visual.conv1.weight': torch.zeros(1), 'roi_head.x': torch.zeros(1)})
    found = text_state_dict(sd)
    assert found.keys() == text.keys() and all(found[k] is text[k] for k in text)


def test_visual_tower_prefixes_and_openai_scalars(tiny_vit):
    sd = random_tower(tiny_vit).state_dict()
    for prefix in ('backbone.', 'student.', 'image_encoder.', ''):
        got = visual_state_dict({**{prefix + k: v for k, v in sd.items()},
                                 'teacher.visual.conv1.weight': torch.zeros(1)})
        assert got.keys() == sd.keys()
    jit_like = {**sd, 'input_resolution': torch.tensor(32), 'vocab_size': torch.tensor(9)}
    assert openai.openai_jit_to_open_clip(jit_like).keys() == sd.keys()
    assert strip_prefix({'a.b': 1, 'c': 2}, 'a.') == {'b': 1}


def test_one_unwrap_for_every_container():
    w = torch.ones(1)
    for obj in ({'state_dict': {'module.x': w}, 'meta': {}}, {'model': {'x': w}},
                {'teacher': {'x': w}, 'student': {'y': w}}, {'x': w, 'epoch': 3}):
        assert unwrap_state_dict(obj) == {'x': w}
