"""Vocabularies: named lists, class-names files, embedding files, text encoder, errors."""
import json

import numpy as np
import pytest
import torch

from declip_mm.datasets.ov_detection import (LVIS_V1_RARE_CLASSES, OV_COCO_BASE_CLASSES,
                                             OV_COCO_NOVEL_CLASSES, lvis_v1_base_classes,
                                             ov_coco_classes, resolve_class_names)
from declip_mm.models.detectors.vocabulary import DeCLIPVocabulary
from declip_mm.utils.errors import ConfigError


def test_benchmark_class_lists():
    assert len(OV_COCO_BASE_CLASSES) == 48 and len(OV_COCO_NOVEL_CLASSES) == 17
    all65 = ov_coco_classes()
    assert len(all65) == 65 and set(all65) == set(OV_COCO_BASE_CLASSES + OV_COCO_NOVEL_CLASSES)
    assert all65[:6] == ('person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus')
    assert len(LVIS_V1_RARE_CLASSES) == 337 and len(set(LVIS_V1_RARE_CLASSES)) == 337
    assert len(lvis_v1_base_classes()) == 1203 - 337
    assert resolve_class_names('coco')[-1] == 'toothbrush'


def test_class_name_files(tmp_path):
    txt = tmp_path / 'names.txt'
    txt.write_text('red box\n\n# comment\nblue box; azure box\n')
    assert resolve_class_names(str(txt)) == ['red box', 'blue box; azure box']
    js = tmp_path / 'names.json'
    js.write_text(json.dumps({'classes': ['a', 'b']}))
    assert resolve_class_names(str(js)) == ['a', 'b']
    with pytest.raises(ConfigError, match='class names file not found'):
        resolve_class_names(str(tmp_path / 'missing.txt'))
    with pytest.raises(ConfigError, match='unknown vocabulary'):
        resolve_class_names('coco_typo')
    with pytest.raises(ConfigError, match='empty'):
        resolve_class_names([])
    (tmp_path / 'empty.txt').write_text('\n')
    with pytest.raises(ConfigError, match='empty'):
        resolve_class_names(str(tmp_path / 'empty.txt'))


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


def test_text_encoder_vocabulary_and_cache(tiny_eva):
    from declip_mm.models.text import DeCLIPTextEncoder
    enc = DeCLIPTextEncoder(arch=tiny_eva, templates='single')
    voc = DeCLIPVocabulary(['cat', 'dog'], text_encoder=enc)
    emb = voc.embeddings()
    assert emb.shape == (2, 32)
    torch.testing.assert_close(emb, enc.encode_classes(['cat', 'dog']))
    assert voc.embeddings() is emb  # cached
    other = voc.embeddings(['zebra', 'red car', 'cat'])  # any words at test time
    torch.testing.assert_close(other[2], emb[0])
    state = {k: v + 1.0 for k, v in voc.state_dict().items()}
    voc.load_state_dict(state)
    assert not torch.allclose(voc.embeddings(), emb)  # cache dropped with new weights
