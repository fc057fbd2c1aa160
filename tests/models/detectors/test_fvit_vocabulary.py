"""DeCLIPVocabulary: embedding files, text encoder, background embedding, errors, and the closed
loop tools/dump_text_embeddings.py -> ``class_embeddings`` (vocabulary specs and the file
formats themselves: tests/vocab)."""
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from declip_mm.models.detectors.vocabulary import DeCLIPVocabulary
from declip_mm.testing.fvit import tiny_fvit_cfg
from declip_mm.testing.scripts import load_script
from declip_mm.utils.errors import ConfigError



def test_embedding_files(tmp_path):
    table = {'cat': torch.tensor([3.0, 4.0]), 'dog': torch.tensor([0.0, 2.0]),
             'background': torch.tensor([1.0, 1.0])}
    torch.save(table, tmp_path / 'emb.pt')
    voc = DeCLIPVocabulary(['dog', 'cat'], class_embeddings=str(tmp_path / 'emb.pt'))
    torch.testing.assert_close(voc.embeddings(), torch.tensor([[0.0, 1.0], [0.6, 0.8]]))
    torch.testing.assert_close(voc.embeddings(['cat']), torch.tensor([[0.6, 0.8]]))
    with pytest.raises(ConfigError, match='no entry'):
        voc.embeddings(['zebra'])  # a file cannot embed new words
    np.save(tmp_path / 'emb.npy', np.array([[1.0, 0.0], [0.0, 5.0]], np.float32))
    voc = DeCLIPVocabulary(['a', 'b'], class_embeddings=str(tmp_path / 'emb.npy'))
    torch.testing.assert_close(voc.embeddings(['b']), torch.tensor([[0.0, 1.0]]))
    with pytest.raises(ConfigError, match='rows'):
        DeCLIPVocabulary(['a', 'b', 'c'], class_embeddings=str(tmp_path / 'emb.npy'))
    with pytest.raises(ConfigError, match='not found'):
        DeCLIPVocabulary(['a'], class_embeddings=str(tmp_path / 'nope.pt'))


def test_base_mask_and_errors(tmp_path):
    torch.save({n: torch.randn(4) for n in ('a', 'b', 'c')}, tmp_path / 'emb.pt')
    voc = DeCLIPVocabulary(['a', 'b', 'c'], base_classes=['a', 'c'],
                           class_embeddings=str(tmp_path / 'emb.pt'))
    assert voc.base_mask().tolist() == [True, False, True]
    assert voc.base_mask(['c', 'zebra']).tolist() == [True, False]  # unseen words are novel
    with pytest.raises(ConfigError, match='base_classes not in the vocabulary'):
        DeCLIPVocabulary(['a', 'b'], base_classes=['x'], class_embeddings=None,
                         text_encoder=dict(type='DeCLIPTextEncoder'))
    with pytest.raises(ConfigError, match='duplicated'):
        DeCLIPVocabulary(['a', 'a'], class_embeddings=str(tmp_path / 'emb.pt'))
    with pytest.raises(ConfigError, match='text_encoder or a class_embeddings'):
        DeCLIPVocabulary(['a', 'b'])


def test_text_encoder_vocabulary_and_cache(tiny_eva, monkeypatch):
    from declip_mm.models.text import DeCLIPTextEncoder
    enc = DeCLIPTextEncoder(arch=tiny_eva, templates='single', cache_dir=False)
    voc = DeCLIPVocabulary(['cat', 'dog'], text_encoder=enc)
    emb = voc.embeddings()
    assert emb.shape == (2, 32)
    torch.testing.assert_close(emb, enc.encode_classes(['cat', 'dog']))
    monkeypatch.setattr(enc, 'encode_names', lambda *a, **k: pytest.fail('recomputed'))
    assert torch.equal(voc.embeddings(), emb)  # the encoder's cache
    monkeypatch.undo()
    other = voc.embeddings(['zebra', 'red car', 'cat'])  # any words at test time
    torch.testing.assert_close(other[2], emb[0])
    state = {k: v + 1.0 for k, v in voc.state_dict().items()}
    voc.load_state_dict(state)
    assert not torch.allclose(voc.embeddings(), emb)  # cache dropped with new weights


def test_background_embedding(tmp_path, tiny_eva):
    from declip_mm.models.text import DeCLIPTextEncoder
    rows = {'cat': torch.tensor([3.0, 4.0]), 'dog': torch.tensor([0.0, 2.0]),
            'background': torch.tensor([2.0, 0.0])}
    torch.save(rows, tmp_path / 'fvit.pt')          # F-ViT's layout: background row last
    voc = DeCLIPVocabulary(['cat', 'dog'], class_embeddings=str(tmp_path / 'fvit.pt'))
    assert torch.equal(voc.background_embedding(), torch.tensor([1.0, 0.0]))
    enc = DeCLIPTextEncoder(arch=tiny_eva, templates='fvit', cache_dir=False)
    voc = DeCLIPVocabulary(['cat', 'dog'], text_encoder=enc)
    bg = voc.background_embedding()
    assert bg.shape == (32,) and abs(bg.norm().item() - 1) < 1e-6
    prompts = enc.templates.prompts('background')
    assert prompts[0] == 'There is a background in the scene.'
    torch.testing.assert_close(bg, F.normalize(enc.encode_text(prompts).mean(0), dim=0))
    np.save(tmp_path / 'emb.npy', np.eye(2, dtype=np.float32))
    voc = DeCLIPVocabulary(['cat', 'dog'], class_embeddings=str(tmp_path / 'emb.npy'))
    with pytest.raises(ConfigError, match='emb.npy has no background row; '
                                          "background='text' needs"):
        voc.background_embedding()


def _build(cfg):
    import declip_mm  # noqa: F401  (registers)
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model.eval()


def _predict(model):
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(1)
    packed = demo_mm_inputs(batch_size=2, image_shapes=[(3, 96, 96), (3, 80, 96)],
                            num_items=[2, 3], num_classes=4)
    with torch.no_grad():
        return model(**model.data_preprocessor(packed, False), mode='predict')


def test_dump_then_load_gives_the_same_embeddings_and_detections(tmp_path, tiny_eva):
    """The closed loop: embeddings written by tools/dump_text_embeddings.py and read back as the
    detector's ``class_embeddings`` equal the ones computed in place, bit for bit, and so do
    the detections."""
    in_place = _build(tiny_fvit_cfg())
    # the detector's own checkpoint holds the text tower (vocabulary.text_encoder.text.*)
    torch.save({'state_dict': in_place.state_dict()}, tmp_path / 'text.pt')
    (tmp_path / 'arch.json').write_text(json.dumps(tiny_eva))
    load_script('tools/dump_text_embeddings.py').main([
        '--arch', str(tmp_path / 'arch.json'), '--checkpoint', str(tmp_path / 'text.pt'),
        '--vocab', 'person, car, dog, cat', '--templates', 'single', '--background',
        '--out', str(tmp_path / 'emb.pt'), '--cache-dir', ''])
    from_file = _build(tiny_fvit_cfg(text_encoder=None,
                                     class_embeddings=str(tmp_path / 'emb.pt')))
    assert from_file.vocabulary.text_encoder is None
    from_file.load_state_dict({k: v for k, v in in_place.state_dict().items()
                               if not k.startswith('vocabulary.')})
    assert torch.equal(from_file.vocabulary.embeddings(), in_place.vocabulary.embeddings())
    assert torch.equal(from_file.vocabulary.background_embedding(),
                       in_place.vocabulary.background_embedding())
    got, ref = _predict(from_file), _predict(in_place)
    assert sum(len(s.pred_instances) for s in ref) > 0
    for a, b in zip(got, ref):
        assert torch.equal(a.pred_instances.bboxes, b.pred_instances.bboxes)
        assert torch.equal(a.pred_instances.scores, b.pred_instances.scores)
        assert torch.equal(a.pred_instances.labels, b.pred_instances.labels)
