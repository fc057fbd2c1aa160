"""DeCLIPTextEncoder (models/text/*): prompt ensembling, the embedding cache, weights loading,
F-ViT prompts, and tools/dump_text_embeddings.py, on a tiny random text tower (templates,
synonyms and the cache itself: tests/vocab)."""
import json
import os

import pytest
import torch
import torch.nn.functional as F

from declip_mm.models.text import DeCLIPTextEncoder
from declip_mm.utils.errors import CheckpointError, ConfigError
from declip_mm.vocab import load_class_embeddings

TWO = ['a photo of a {}.', 'a {} in the scene.']


@torch.no_grad()
def randomize(module, seed=0):
    """O(1)-scale random weights, so that different prompts give clearly different outputs."""
    g = torch.Generator().manual_seed(seed)
    for name, p in module.named_parameters():
        if p.dim() >= 2:
            p.copy_(torch.randn(p.shape, generator=g) * p.shape[-1] ** -0.5)
        elif 'ln' in name:
            base = 1.0 if name.endswith('weight') else 0.0
            p.copy_(base + 0.1 * torch.randn(p.shape, generator=g))
        else:
            p.copy_(0.1 * torch.randn(p.shape, generator=g))
    return module


def encoder(arch, seed=0, **kw):
    kw.setdefault('templates', TWO)
    kw.setdefault('cache_dir', False)
    enc = DeCLIPTextEncoder(arch, **kw)
    randomize(enc.text, seed)
    return enc.eval()


@pytest.fixture(scope='module')
def enc():
    from declip_mm.testing import TINY_EVA
    return encoder(dict(TINY_EVA))


# ----------------------------------------------------------------- vocabularies
def test_empty_or_duplicate_vocabulary_in_encoder(enc):
    with pytest.raises(ConfigError, match='empty'):
        enc.encode_classes([])
    with pytest.raises(ConfigError, match="duplicated class names: \\['car'\\]"):
        enc.encode_vocabulary(['car', 'bus', 'car; auto'])


# ----------------------------------------------------------------- embeddings
def test_encode_names_is_normalised_template_mean(enc):
    names = ['cat', 'traffic light']
    got = enc.encode_names(names)
    per = enc.encode_text([t.format(n) for n in names for t in TWO]).view(2, 2, -1)
    assert torch.allclose(per.norm(dim=-1), torch.ones(2, 2), atol=1e-6)
    assert torch.allclose(got, F.normalize(per.mean(1), dim=-1), atol=1e-6)
    assert got.shape == (2, 32)
    single = enc.encode_names(['cat'], templates=['a photo of a {}.'])
    assert torch.allclose(single, enc.encode_text(['a photo of a cat.']), atol=1e-6)


def test_vocabulary_synonyms_and_classes(enc):
    emb, index = enc.encode_vocabulary(['person; man', 'car', ['bus', 'coach']])
    assert index.tolist() == [0, 0, 1, 2, 2]
    names = enc.encode_names(['person', 'man', 'car', 'bus', 'coach'])
    assert torch.allclose(emb, names, atol=1e-6)
    classes = enc.encode_classes(['person; man', 'car', ['bus', 'coach']])
    assert classes.shape == (3, 32)
    assert torch.allclose(classes.norm(dim=-1), torch.ones(3), atol=1e-6)
    assert torch.allclose(classes[0], F.normalize(emb[0] + emb[1], dim=0), atol=1e-6)
    assert torch.allclose(classes[1], emb[2], atol=1e-6)
    assert (classes[0] @ classes[1]).item() < 0.99  # distinct prompts, distinct embeddings


def test_fvit_prompts_are_encoded(enc):
    from declip_mm.vocab import get_templates
    got = enc.encode_names(['traffic_light', 'apple'], templates='fvit')
    for row, name in zip(got, ['traffic_light', 'apple']):
        prompts = get_templates('fvit').prompts(name)
        assert len(prompts) == 63 and prompts[2].startswith('This is a photo of a')
        torch.testing.assert_close(row, F.normalize(enc.encode_text(prompts).mean(0), dim=0))


def test_computing_shows_progress(tiny_eva, capsys):
    enc = encoder(tiny_eva)
    enc.encode_vocabulary(['cat', 'dog'])
    assert '4/4' in capsys.readouterr().out      # 2 names x 2 templates
    enc.encode_vocabulary(['cat', 'dog'])       # cached: no bar
    assert '4/4' not in capsys.readouterr().out


def test_frozen(enc):
    assert all(not p.requires_grad for p in enc.parameters())
    enc.train()
    assert not enc.text.training
    enc.eval()


# ----------------------------------------------------------------- caching
def _count_calls(monkeypatch, enc):
    calls = []
    original = enc.encode_names

    def spy(names, templates=None, progress=False):
        calls.append(list(names))
        return original(names, templates, progress)

    monkeypatch.setattr(enc, 'encode_names', spy)
    return calls


def test_memory_cache_hit(tiny_eva, monkeypatch):
    enc = encoder(tiny_eva)
    calls = _count_calls(monkeypatch, enc)
    a, _ = enc.encode_vocabulary(['cat', 'dog'])
    b, _ = enc.encode_vocabulary(['cat', 'dog'])
    assert len(calls) == 1 and a is b
    enc.encode_vocabulary(['cat', 'dog'], templates=['a {}.'])     # other templates: new entry
    enc.encode_vocabulary(['dog', 'cat'])                          # other order: new entry
    assert len(calls) == 3


def test_disk_cache_written_atomically_and_reused(tiny_eva, tmp_path, monkeypatch):
    cache = tmp_path / 'cache'
    first = encoder(tiny_eva, cache_dir=str(cache))
    saved = []
    real_save = torch.save
    monkeypatch.setattr(torch, 'save',
                        lambda obj, path: (saved.append(str(path)), real_save(obj, path)))
    emb, _ = first.encode_vocabulary(['cat', 'dog; puppy'])
    files = os.listdir(cache)
    assert len(files) == 1 and files[0].endswith('.pt')
    entry = load_class_embeddings(str(cache / files[0]))   # the one class-embedding format
    assert entry.names == ['cat', 'dog', 'puppy'] and entry.templates == TWO
    assert entry.text_fingerprint == first.fingerprint() and torch.equal(entry.embeddings, emb)
    assert len(saved) == 1 and saved[0] != str(cache / files[0])  # written elsewhere, then moved
    # a new encoder with the same weights reads the file instead of running the tower
    second = encoder(tiny_eva, cache_dir=str(cache))
    monkeypatch.setattr(second, 'encode_names', lambda *a, **k: pytest.fail('recomputed'))
    again, _ = second.encode_vocabulary(['cat', 'dog; puppy'])
    assert torch.equal(again, emb)
    # other weights -> other cache entry
    third = encoder(tiny_eva, seed=5, cache_dir=str(cache))
    other, _ = third.encode_vocabulary(['cat', 'dog; puppy'])
    assert not torch.allclose(other, emb) and len(os.listdir(cache)) == 2


def test_disk_cache_failed_write_is_one_warning(tiny_eva, tmp_path, monkeypatch):
    """The disk cache is an optimisation: a failed write (full disk, a rank writing the same
    entry) leaves no file and costs one log line; the embeddings are still returned."""
    cache = tmp_path / 'cache'
    enc = encoder(tiny_eva, cache_dir=str(cache))
    logged = []
    monkeypatch.setattr('declip_mm.vocab.cache.print_log', lambda msg, **kw: logged.append(msg))

    def broken_write(path, data):
        with open(path + '.part', 'wb') as f:
            f.write(bytes(data)[:10])
        raise OSError('disk full')

    monkeypatch.setattr('declip_mm.engine.atomic_io.atomic_write_bytes', broken_write)
    emb, _ = enc.encode_vocabulary(['cat'])
    assert emb.shape == (1, 32) and 'could not write the cache entry' in logged[-1]
    assert not [f for f in os.listdir(cache) if f.endswith('.pt')]   # no entry to be read
    monkeypatch.undo()
    again, _ = encoder(tiny_eva, cache_dir=str(cache)).encode_vocabulary(['cat'])
    assert torch.equal(again, emb)
    assert len([f for f in os.listdir(cache) if f.endswith('.pt')]) == 1


def test_unreadable_cache_file_is_recomputed(tiny_eva, tmp_path):
    cache = tmp_path / 'cache'
    emb, _ = encoder(tiny_eva, cache_dir=str(cache)).encode_vocabulary(['cat', 'dog'])
    (path,) = cache.iterdir()
    path.write_bytes(b'garbage')
    again, _ = encoder(tiny_eva, cache_dir=str(cache)).encode_vocabulary(['cat', 'dog'])
    assert torch.equal(again, emb)
    torch.save(torch.zeros(1, 32), path)    # wrong shape for this vocabulary
    again, _ = encoder(tiny_eva, cache_dir=str(cache)).encode_vocabulary(['cat', 'dog'])
    assert torch.equal(again, emb)


# ----------------------------------------------------------------- weights
@pytest.mark.parametrize('layout', ['text.', 'text_encoder.text.', 'openai'])
def test_text_checkpoint_layouts(tiny_eva, tmp_path, layout):
    src = encoder(tiny_eva, seed=3)
    sd = src.text.state_dict()
    if layout == 'openai':   # open_clip CLIP: text keys at the top level, next to visual.*
        obj = {**sd, 'visual.proj': torch.zeros(2, 2), 'logit_scale': torch.tensor(1.0)}
    else:
        obj = {'state_dict': {**{layout + k: v for k, v in sd.items()},
                              layout + 'attn_mask': torch.zeros(77, 77),
                              'visual.blocks.0.attn.q_bias': torch.zeros(4)}}
    torch.save(obj, tmp_path / 'ckpt.pt')
    init_cfg = dict(type='Pretrained', checkpoint=str(tmp_path / 'ckpt.pt'))
    dst = encoder(tiny_eva, seed=9, init_cfg=init_cfg)
    before = dst.encode_names(['cat'])
    dst.init_weights()
    after = dst.encode_names(['cat'])        # memory cache was cleared by loading
    assert not torch.allclose(before, after)
    assert torch.equal(after, src.encode_names(['cat']))


def test_text_checkpoint_mismatch(tiny_eva, tmp_path):
    sd = encoder(tiny_eva).text.state_dict()
    del sd['ln_final.weight']
    torch.save({'state_dict': {'text.' + k: v for k, v in sd.items()}}, tmp_path / 'bad.pt')
    dst = encoder(tiny_eva, init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'bad.pt')))
    with pytest.raises(CheckpointError, match='1 missing: ln_final.weight') as info:
        dst.init_weights()
    assert '\n' not in str(info.value)
    dst = encoder(tiny_eva, init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'no.pt')))
    with pytest.raises(CheckpointError, match='not found'):
        dst.init_weights()


# ----------------------------------------------------------------- tools/dump_text_embeddings.py
def _tool(name):
    from declip_mm.testing.scripts import load_script
    return load_script(f'tools/{name}.py')


def test_dump_text_embeddings(tiny_eva, tmp_path):
    dump = _tool('dump_text_embeddings')
    src = encoder(tiny_eva, seed=4)
    torch.save({'state_dict': {'text.' + k: v for k, v in src.text.state_dict().items()}},
               tmp_path / 'ckpt.pt')
    (tmp_path / 'arch.json').write_text(json.dumps(tiny_eva))
    (tmp_path / 'vocab.txt').write_text('# classes\nperson; man\n\ntraffic_light\ncar\n')
    out = tmp_path / 'emb.pt'
    common = ['--arch', str(tmp_path / 'arch.json'), '--checkpoint', str(tmp_path / 'ckpt.pt'),
              '--out', str(out), '--cache-dir', str(tmp_path / 'cache')]
    dump.main(common + ['--vocab', str(tmp_path / 'vocab.txt'), '--templates', '|'.join(TWO)])
    res = load_class_embeddings(str(out))
    assert res.source == 'declip_mm.class_embeddings'
    assert res.names == ['person; man', 'traffic_light', 'car']
    assert res.templates == TWO and res.prompt_style == 'plain' and res.background is None
    assert res.text_fingerprint == src.fingerprint()
    assert res.embeddings.shape == (3, 32)
    ref = src.encode_classes(['person; man', 'traffic_light', 'car'])
    assert torch.allclose(res.embeddings, ref, atol=1e-6)
    # comma-separated list, a named template set and the background row
    dump.main(common + ['--vocab', 'cat, dog', '--templates', 'single', '--background'])
    res = load_class_embeddings(str(out))
    assert res.names == ['cat', 'dog'] and res.templates == ['a photo of a {}.']
    assert torch.allclose(res.embeddings[0], src.encode_text(['a photo of a cat.'])[0], atol=1e-6)
    assert torch.allclose(res.background, src.encode_text(['a photo of a background.'])[0],
                          atol=1e-6)
    # F-ViT's recipe
    dump.main(common + ['--vocab', 'traffic_light', '--templates', 'fvit'])
    res = load_class_embeddings(str(out))
    assert res.prompt_style == 'fvit' and len(res.templates) == 63
    assert torch.allclose(res.embeddings[0], src.encode_names(['traffic light'], 'fvit')[0],
                          atol=1e-6)
    with pytest.raises(ConfigError, match='duplicated'):
        dump.main(common + ['--vocab', 'cat,cat'])
    with pytest.raises(ConfigError, match='not found'):
        dump.main(common + ['--vocab', str(tmp_path / 'missing.txt')])


def test_dump_tool_names_the_ovshapes_arch(tmp_path):
    """``--arch OVShapes-Tiny`` (a registered arch name, no JSON) with the shipped tiny CLIP."""
    from declip_mm.datasets.ov_shapes.arch import OV_SHAPES_CLIP, TINY_CLIP_CHECKPOINT
    from declip_mm.models.backbones.archs import resolve_arch
    assert resolve_arch('OVShapes-Tiny') == OV_SHAPES_CLIP
    if not os.path.isfile(TINY_CLIP_CHECKPOINT):
        pytest.skip('the shipped tiny CLIP is not there')
    out = tmp_path / 'shapes.pt'
    _tool('dump_text_embeddings').main([
        '--arch', 'OVShapes-Tiny', '--checkpoint', TINY_CLIP_CHECKPOINT, '--vocab',
        'red circle, blue bar', '--templates', 'a {}', '--out', str(out), '--cache-dir', ''])
    enc = DeCLIPTextEncoder('OVShapes-Tiny', templates=['a {}'], cache_dir=False,
                            init_cfg=dict(type='Pretrained', checkpoint=TINY_CLIP_CHECKPOINT))
    enc.init_weights()
    res = load_class_embeddings(str(out))
    assert res.embeddings.shape == (2, 96)
    assert torch.equal(res.embeddings, enc.encode_classes(['red circle', 'blue bar']))
