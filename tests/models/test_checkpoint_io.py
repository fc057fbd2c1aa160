"""Checkpoint loading of DeCLIPViT (backbones/checkpoint_io.py): every supported layout, made
here by renaming the keys of a tiny model, loads to identical outputs; bad files give one clear
CheckpointError."""
import importlib
import json
import math
import os
import re
import sys

import pytest
import torch

from declip_mm.models.backbones import DeCLIPViT
from declip_mm.utils.errors import CheckpointError

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


def layouts(arch, model):
    """name -> checkpoint object, in every layout users have."""
    sd = model.state_dict()
    text = text_keys(arch, '')
    prefixed = {'text.' + k: v for k, v in text.items()}
    eva = any(k.startswith('visual.trunk.') for k in sd)
    out = {
        'declip_mm backbone': sd,
        'declip_mm detector': {'meta': {'epoch': 3}, 'state_dict': {
            **{'backbone.' + k: v for k, v in sd.items()},
            'roi_head.bbox_head.fc_cls.weight': torch.zeros(3, 4)}},
        'distiller student': {'state_dict': {**{'student.' + k: v for k, v in sd.items()},
                                             'teacher_scale': torch.ones(1)}},
        'DDP module.': {'state_dict': {'module.' + k: v for k, v in sd.items()}},
    }
    if eva:
        eva_sd = to_eva_clip(sd)
        rope = {'visual.rope.freqs_cos': torch.ones(16, 8),
                'visual.rope.freqs_sin': torch.ones(16, 8)}
        out['official DeCLIP (EVA-CLIP names)'] = {'epoch': 6, 'name': 'declip', 'state_dict': {
            **eva_sd, **rope, **prefixed, 'logit_scale': torch.tensor(4.6)}}
        out['EVA-CLIP full'] = {**eva_sd, **prefixed, 'logit_scale': torch.tensor(1.)}
        out['EVA-CLIP vision-only'] = {k[len('visual.'):]: v for k, v in {**eva_sd, **rope}.items()}
        out['open_clip EVA02 (CustomTextCLIP)'] = {**sd, **prefixed,
                                                   'logit_scale': torch.tensor(1.)}
    else:
        out['official DeCLIP (open_clip names)'] = {'epoch': 6, 'state_dict': {
            **sd, **text, 'logit_scale': torch.tensor(4.6)}}
        out['open_clip CLIP'] = {**sd, **text, 'logit_scale': torch.tensor(4.6)}
    return out


def load(arch, path, **kw):
    init_cfg = dict(type='Pretrained', checkpoint=str(path))
    model = DeCLIPViT(arch, mode='csa', init_cfg=init_cfg, **kw)
    model.init_weights()
    return model.eval()


@pytest.mark.parametrize('arch_name', ['tiny_eva', 'tiny_vit'])
def test_every_layout_loads_to_identical_outputs(request, arch_name, tmp_path):
    arch = request.getfixturevalue(arch_name)
    src = source(arch)
    x = torch.randn(2, 3, 37, 45)
    with torch.no_grad():
        ref_dense, ref_img = src.encode_dense(x), src.encode_image(x)
    names = layouts(arch, src)
    assert len(names) == (8 if arch_name == 'tiny_eva' else 6)
    for i, (name, obj) in enumerate(names.items()):
        path = tmp_path / f'ckpt{i}.pt'
        torch.save(obj, path)
        model = load(arch, path)
        with torch.no_grad():
            assert torch.equal(model.encode_dense(x), ref_dense), name
            assert torch.equal(model.encode_image(x), ref_img), name
        for (k, a), b in zip(src.state_dict().items(), model.state_dict().values()):
            assert torch.equal(a, b), (name, k)


def test_pos_embed_grid_of_checkpoint_is_adopted(tiny_vit, tmp_path):
    """A checkpoint trained at another size (6x6 grid) loads; pos-embeds are resampled anyway."""
    big = dict(tiny_vit, vision_cfg=dict(tiny_vit['vision_cfg'], image_size=48))
    src = source(big)
    torch.save(src.state_dict(), tmp_path / 'big.pt')
    model = load(tiny_vit, tmp_path / 'big.pt')
    assert model.visual.positional_embedding.shape == (37, 64)
    x = torch.randn(1, 3, 40, 56)
    with torch.no_grad():
        assert torch.equal(model.encode_dense(x), src.encode_dense(x))


def one_line_error(arch, path, match):
    with pytest.raises(CheckpointError, match=match) as info:
        load(arch, path)
    assert '\n' not in str(info.value)
    return str(info.value)


def test_missing_and_unexpected_keys(tiny_eva, tmp_path):
    sd = source(tiny_eva).state_dict()
    del sd['visual.trunk.blocks.3.attn.q_proj.weight']
    sd['visual.trunk.extra.weight'] = torch.zeros(1)
    torch.save({'state_dict': sd}, tmp_path / 'bad.pt')
    msg = one_line_error(tiny_eva, tmp_path / 'bad.pt', 'does not fit DeCLIPViT')
    assert '1 missing: visual.trunk.blocks.3.attn.q_proj.weight' in msg
    assert '1 unexpected: visual.trunk.extra.weight' in msg


def test_wrong_arch(tiny_eva, tiny_vit, tmp_path):
    torch.save(source(tiny_vit).state_dict(), tmp_path / 'vit.pt')
    one_line_error(tiny_eva, tmp_path / 'vit.pt', 'missing')
    wide = dict(tiny_vit, vision_cfg=dict(tiny_vit['vision_cfg'], width=96, head_width=16))
    torch.save(source(wide).state_dict(), tmp_path / 'wide.pt')
    msg = one_line_error(tiny_vit, tmp_path / 'wide.pt', 'wrong shape')
    assert 'width=64' in msg


def test_malicious_pickle_is_refused(tiny_eva, tmp_path):
    marker = tmp_path / 'pwned'

    class Payload:
        def __reduce__(self):
            return (exec, (f'open({str(marker)!r}, "w").write("x")',))

    torch.save({'state_dict': {'visual.trunk.cls_token': torch.zeros(1)}, 'x': Payload()},
               tmp_path / 'evil.pt')
    one_line_error(tiny_eva, tmp_path / 'evil.pt', r'refusing to load .*exec')
    assert not marker.exists()

    from mmengine.logging.history_buffer import HistoryBuffer

    class Sneaky:  # getattr is allowed for HistoryBuffer's statistics methods only
        def __reduce__(self):
            return (getattr, (HistoryBuffer, '__init__'))

    torch.save({'state_dict': {}, 'x': Sneaky()}, tmp_path / 'sneaky.pt')
    one_line_error(tiny_eva, tmp_path / 'sneaky.pt', 'refusing to load')


def test_missing_corrupt_and_empty_files(tiny_eva, tmp_path):
    one_line_error(tiny_eva, tmp_path / 'nope.pt', 'checkpoint file not found')
    g = torch.Generator().manual_seed(0)
    noise = torch.randint(0, 256, (300,), generator=g, dtype=torch.uint8).tolist()
    junk = {'random.pt': bytes(noise),
            'text.pt': b'hello, not a checkpoint\n' * 10,
            'empty.pt': b''}
    torch.save(source(tiny_eva).state_dict(), tmp_path / 'whole.pt')
    junk['truncated.pt'] = (tmp_path / 'whole.pt').read_bytes()[:5000]
    for name, data in junk.items():
        (tmp_path / name).write_bytes(data)
        one_line_error(tiny_eva, tmp_path / name, 'cannot read checkpoint')
    torch.save([torch.zeros(2)], tmp_path / 'list.pt')
    one_line_error(tiny_eva, tmp_path / 'list.pt', 'not a state dict')
    torch.save(text_keys(tiny_eva, 'text.'), tmp_path / 'text_only.pt')
    one_line_error(tiny_eva, tmp_path / 'text_only.pt', 'no image-tower weights')


def test_mmengine_checkpoint_with_numpy_meta_loads(tiny_vit, tmp_path):
    """mmengine writes numpy scalars / arrays next to the weights: still loadable."""
    import numpy as np
    src = source(tiny_vit)
    torch.save({'meta': {'seed': np.int64(3), 'arr': np.zeros(2), 'lr': np.float64(0.1)},
                'state_dict': {'backbone.' + k: v for k, v in src.state_dict().items()}},
               tmp_path / 'epoch_1.pth')
    model = load(tiny_vit, tmp_path / 'epoch_1.pth')
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model.encode_dense(x), src.encode_dense(x))


def test_mmengine_checkpoint_with_message_hub_loads(tiny_vit, tmp_path):
    """What mmengine's Runner writes: message_hub.log_scalars holds HistoryBuffer objects."""
    from mmengine.logging.history_buffer import HistoryBuffer
    src = source(tiny_vit)
    history = HistoryBuffer()
    history.update(0.5)
    torch.save({'message_hub': {'log_scalars': {'train/loss': history}},
                'state_dict': {'backbone.' + k: v for k, v in src.state_dict().items()}},
               tmp_path / 'epoch_1.pth')
    model = load(tiny_vit, tmp_path / 'epoch_1.pth')
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model.encode_dense(x), src.encode_dense(x))


# ----------------------------------------------------------------- tools/convert_checkpoint.py
TOOLS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                     'tools')


def convert_tool():
    if TOOLS not in sys.path:
        sys.path.insert(0, TOOLS)
    return importlib.import_module('convert_checkpoint')


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


@pytest.mark.parametrize('arch_name,layout', [('tiny_vit', 'official'), ('tiny_vit', 'detector'),
                                              ('tiny_eva', 'official'), ('tiny_eva', 'detector')])
def test_convert_loads_strictly_in_open_clip(request, tmp_path, arch_name, layout):
    import open_clip
    arch = request.getfixturevalue(arch_name)
    eva = arch_name == 'tiny_eva'
    vis, txt = source(arch), text_encoder(arch, seed=1)
    text_sd = txt.text.state_dict()
    if layout == 'official':   # DeCLIP epoch_N.pt: EVA-CLIP names (EVA) / open_clip names (OpenAI)
        visual = to_eva_clip(vis.state_dict()) if eva else vis.state_dict()
        text = {('text.' if eva else '') + k: v for k, v in text_sd.items()}
        obj = {'epoch': 6, 'state_dict': {**visual, **text, 'logit_scale': torch.tensor(2.5)}}
    else:                      # declip_mm detector: backbone + text encoder submodules
        sd = {**{'backbone.' + k: v for k, v in vis.state_dict().items()},
              **{'text_encoder.text.' + k: v for k, v in text_sd.items()},
              'roi_head.bbox_head.fc_reg.weight': torch.zeros(4, 8)}
        obj = {'meta': {}, 'state_dict': sd}
    torch.save(obj, tmp_path / 'in.pt')
    name = f'declip-mm-test-{arch_name}-{layout}'
    cfg_path = open_clip_model(arch, tmp_path, name, eva)
    tool = convert_tool()
    tool.main([str(tmp_path / 'in.pt'), str(tmp_path / 'out.pt'), '--arch', str(cfg_path)
               if not eva else json.dumps(arch)])
    out = torch.load(tmp_path / 'out.pt', weights_only=True)
    assert any(k.startswith('visual.trunk.' if eva else 'visual.conv1') for k in out)
    assert ('text.token_embedding.weight' in out) == eva
    assert ('token_embedding.weight' in out) != eva
    assert torch.equal(out['logit_scale'], torch.tensor(2.5 if layout == 'official'
                                                        else math.log(1 / 0.07)))
    model = open_clip.create_model(name, pretrained=str(tmp_path / 'out.pt')).eval()  # strict
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model.encode_image(x, normalize=True), vis.encode_image(x), atol=1e-5)
        tokens = open_clip.get_tokenizer(name)(['a photo of a cat.'])
        assert torch.allclose(model.encode_text(tokens, normalize=True),
                              txt.encode_text(['a photo of a cat.']), atol=1e-5)


def test_convert_vision_only_and_errors(tiny_eva, tiny_vit, tmp_path):
    from declip_mm.utils.errors import CheckpointError
    tool = convert_tool()
    vis = source(tiny_vit)
    torch.save({'state_dict': {'backbone.' + k: v for k, v in vis.state_dict().items()}},
               tmp_path / 'in.pt')
    tool.main([str(tmp_path / 'in.pt'), str(tmp_path / 'out.pt')])
    out = torch.load(tmp_path / 'out.pt', weights_only=True)
    assert set(out) == set(vis.state_dict())                      # image tower only
    from open_clip.model import CLIP
    clip = CLIP(tiny_vit['embed_dim'], tiny_vit['vision_cfg'], tiny_vit['text_cfg'],
                quick_gelu=True)
    clip.visual.load_state_dict({k[len('visual.'):]: v for k, v in out.items()}, strict=True)
    with pytest.raises(CheckpointError, match='holds an openai image tower'):
        tool.main([str(tmp_path / 'in.pt'), str(tmp_path / 'x.pt'), '--arch', json.dumps(tiny_eva)])
    wide = dict(tiny_vit, vision_cfg=dict(tiny_vit['vision_cfg'], width=96))
    with pytest.raises(CheckpointError, match='wrong shape'):
        tool.main([str(tmp_path / 'in.pt'), str(tmp_path / 'x.pt'), '--arch', json.dumps(wide)])
    torch.save({'text.ln_final.weight': torch.ones(2)}, tmp_path / 'text.pt')
    with pytest.raises(CheckpointError, match='no image-tower weights'):
        tool.main([str(tmp_path / 'text.pt'), str(tmp_path / 'x.pt')])
    assert not (tmp_path / 'x.pt').exists()


def test_eva02_b16_layout_equals_open_clip(tmp_path):
    """Full size, on the meta device: open_clip's EVA02-B-16 holds exactly our keys and shapes."""
    import open_clip
    from declip_mm.models.text import DeCLIPTextEncoder
    with torch.device('meta'):
        theirs = open_clip.create_model('EVA02-B-16', pretrained=None, device='meta').state_dict()
        vis = DeCLIPViT('EVA02-CLIP-B-16').state_dict()
        txt = DeCLIPTextEncoder('EVA02-CLIP-B-16').text.state_dict()
    ours = {**vis, **{'text.' + k: v for k, v in txt.items()}, 'logit_scale': torch.empty(())}
    shapes = lambda sd: {k: tuple(v.shape) for k, v in sd.items()}  # noqa: E731
    assert shapes(ours) == shapes(theirs)
