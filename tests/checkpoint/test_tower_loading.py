"""Checkpoint loading of DeCLIPViT (declip_mm.checkpoint): every supported layout, made
here by renaming the keys of a tiny model, loads to identical outputs; bad files give one clear
CheckpointError."""
import pytest
import torch

from declip_mm.models.backbones import DeCLIPViT
from declip_mm.testing.checkpoints import random_tower, text_keys, to_eva_clip
from declip_mm.utils.errors import CheckpointError


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
    src = random_tower(arch)
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
    src = random_tower(big)
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
    sd = random_tower(tiny_eva).state_dict()
    del sd['visual.trunk.blocks.3.attn.q_proj.weight']
    sd['visual.trunk.extra.weight'] = torch.zeros(1)
    torch.save({'state_dict': sd}, tmp_path / 'bad.pt')
    msg = one_line_error(tiny_eva, tmp_path / 'bad.pt', 'does not fit DeCLIPViT')
    assert '1 missing: visual.trunk.blocks.3.attn.q_proj.weight' in msg
    assert '1 unexpected: visual.trunk.extra.weight' in msg


def test_wrong_arch(tiny_eva, tiny_vit, tmp_path):
    torch.save(random_tower(tiny_vit).state_dict(), tmp_path / 'vit.pt')
    one_line_error(tiny_eva, tmp_path / 'vit.pt', 'missing')
    wide = dict(tiny_vit, vision_cfg=dict(tiny_vit['vision_cfg'], width=96, head_width=16))
    torch.save(random_tower(wide).state_dict(), tmp_path / 'wide.pt')
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
    torch.save(random_tower(tiny_eva).state_dict(), tmp_path / 'whole.pt')
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
    src = random_tower(tiny_vit)
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
    src = random_tower(tiny_vit)
    history = HistoryBuffer()
    history.update(0.5)
    torch.save({'message_hub': {'log_scalars': {'train/loss': history}},
                'state_dict': {'backbone.' + k: v for k, v in src.state_dict().items()}},
               tmp_path / 'epoch_1.pth')
    model = load(tiny_vit, tmp_path / 'epoch_1.pth')
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model.encode_dense(x), src.encode_dense(x))


# ----------------------------------------------------------------- init_cfg forms (issue 18.5)
@pytest.mark.parametrize('form', ['dict', 'list', 'list+Normal', 'prefix'])
def test_every_init_cfg_form_converts_the_official_layout(tiny_eva, tmp_path, form):
    """A list-form ``init_cfg`` and ``prefix=`` load an official file through the same
    conversion as the dict form (no silent non-load)."""
    src = random_tower(tiny_eva)
    official = {**to_eva_clip(src.state_dict()), **text_keys(tiny_eva, 'text.')}
    if form == 'prefix':   # e.g. a file that nests the CLIP under "clip."
        official = {'clip.' + k: v for k, v in official.items()}
    torch.save({'state_dict': official}, tmp_path / 'official.pt')
    entry = dict(type='Pretrained', checkpoint=str(tmp_path / 'official.pt'))
    init_cfg = {'dict': entry, 'list': [entry], 'prefix': [dict(entry, prefix='clip.')],
                'list+Normal': [dict(type='Normal', layer='Linear', std=5.0), entry]}[form]
    model = DeCLIPViT(tiny_eva, init_cfg=init_cfg)
    model.init_weights()
    for (k, a), b in zip(src.state_dict().items(), model.state_dict().values()):
        assert torch.equal(a, b), (form, k)


def test_init_cfg_errors_are_one_line(tiny_eva, tmp_path):
    from declip_mm.utils.errors import ConfigError
    entry = dict(type='Pretrained', checkpoint=str(tmp_path / 'a.pt'))
    with pytest.raises(ConfigError, match='2 Pretrained entries'):
        DeCLIPViT(tiny_eva, init_cfg=[entry, entry]).init_weights()
    torch.save(random_tower(tiny_eva).state_dict(), tmp_path / 'a.pt')
    with pytest.raises(CheckpointError, match="no image-tower weights .*under prefix 'nope.'"):
        DeCLIPViT(tiny_eva, init_cfg=[dict(entry, prefix='nope.')]).init_weights()


def test_text_tower_of_another_width_is_one_line(tiny_vit, tmp_path):
    """The text loader checks shapes, not only names (was a 60-line RuntimeError)."""
    from declip_mm.models.text import DeCLIPTextEncoder
    wide = dict(tiny_vit, text_cfg=dict(tiny_vit['text_cfg'], width=48))
    torch.save(text_keys(wide, 'text.'), tmp_path / 'wide.pt')
    enc = DeCLIPTextEncoder(tiny_vit, init_cfg=[dict(type='Pretrained',
                                                     checkpoint=str(tmp_path / 'wide.pt'))])
    with pytest.raises(CheckpointError) as err:
        enc.init_weights()
    msg = str(err.value)
    assert '\n' not in msg and msg.startswith(f'{tmp_path / "wide.pt"} does not fit the text tower')
    assert 'wrong shape: ' in msg and 'token_embedding.weight' in msg
    text = text_keys(tiny_vit, 'vocabulary.text_encoder.text.')    # a detector file
    torch.save({'state_dict': text}, tmp_path / 'fvit.pth')
    enc = DeCLIPTextEncoder(tiny_vit, init_cfg=dict(type='Pretrained',
                                                    checkpoint=str(tmp_path / 'fvit.pth')))
    enc.init_weights()
    assert torch.equal(enc.text.token_embedding.weight,
                       text['vocabulary.text_encoder.text.token_embedding.weight'])
