"""declip_mm.vocab.embedding_file: declip_mm's class-embedding format and the upstream layouts.

The upstream files are built here with the structure their writers use: CLIPSelf F-ViT's
``tools/dump_*_openclip_feature.py`` save ``{name: (D,) float32 tensor}`` for the class names
plus ``'background'`` (last); CLIM saves a ``(C, D)`` tensor; DeCLIP's region classification
reads ``(C, D)`` ``.npy`` arrays.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from declip_mm.utils.errors import ConfigError
from declip_mm.vocab import ClassEmbeddings, load_class_embeddings, save_class_embeddings


def unit(*rows):
    return F.normalize(torch.tensor(rows, dtype=torch.float32), dim=-1)


def test_declip_format_round_trip(tmp_path):
    emb = unit([3.0, 4.0, 0.0], [0.0, 1.0, 0.0])
    bg = unit([1.0, 1.0, 1.0])[0]
    path = str(tmp_path / 'sub' / 'emb.pt')
    save_class_embeddings(path, ClassEmbeddings(emb, ['cat', ['dog', 'puppy']], ['a {}.'],
                                                'plain', bg, 'abc123'))
    raw = torch.load(path, weights_only=True)   # plain containers and tensors only
    assert raw['format'] == 'declip_mm.class_embeddings' and raw['version'] == 1
    back = load_class_embeddings(path)
    assert back.source == 'declip_mm.class_embeddings' and back.path == path
    assert back.names == ['cat', ['dog', 'puppy']] and back.templates == ['a {}.']
    assert back.prompt_style == 'plain' and back.text_fingerprint == 'abc123'
    assert torch.equal(back.embeddings, emb) and torch.equal(back.background, bg)
    torch.testing.assert_close(back.rows(['Dog', 'cat']), emb[[1, 0]])
    with pytest.raises(ConfigError, match="no entry for \\['zebra'\\]"):
        back.rows(['zebra'])
    with pytest.raises(ConfigError, match='2 names but 1 embedding rows'):
        save_class_embeddings(path, ClassEmbeddings(emb[:1], ['a', 'b']))


def test_fvit_layout_keeps_the_background_row(tmp_path):
    g = torch.Generator().manual_seed(0)
    names = ['person', 'traffic light', 'hot dog', 'background']
    rows = F.normalize(torch.randn(len(names), 8, generator=g), dim=-1)
    torch.save({k: v for k, v in zip(names, rows)}, tmp_path / 'coco_with_background.pt')
    table = load_class_embeddings(str(tmp_path / 'coco_with_background.pt'))
    assert table.source == 'fvit' and table.names == names[:3]
    assert torch.equal(table.background, rows[3])
    assert torch.equal(table.embeddings, rows[:3])
    torch.testing.assert_close(table.rows(['hot_dog', 'Person']), rows[[2, 0]])
    with pytest.raises(ConfigError, match='no entry'):
        table.rows(['background'])   # the background is no class


def test_array_layouts(tmp_path):
    arr = np.array([[1.0, 0.0], [0.0, 5.0]], np.float32)
    np.save(tmp_path / 'emb.npy', arr)
    torch.save(torch.from_numpy(arr), tmp_path / 'clim.pt')
    for name in ('emb.npy', 'clim.pt'):
        table = load_class_embeddings(str(tmp_path / name))
        assert table.source == 'array' and table.names is None and table.background is None
        torch.testing.assert_close(table.rows(['b'], vocabulary=['a', 'b']), unit([0.0, 1.0]))
        torch.testing.assert_close(table.all_rows(), unit([1.0, 0.0], [0.0, 1.0]))
        with pytest.raises(ConfigError, match='2 rows but the vocabulary has 3 classes'):
            table.rows(['a'], vocabulary=['a', 'b', 'c'])


@pytest.mark.parametrize('name, content, match', [
    ('nope.pt', None, 'not found'),
    ('emb.txt', b'1 2', 'must be .pt, .pth or .npy'),
    ('trunc.pt', b'PK\x03\x04garbage', 'cannot read class embeddings'),
    ('vec.pt', torch.zeros(3), 'not a class-embeddings file'),
    ('mixed.pt', {'cat': torch.zeros(2), 'dog': torch.zeros(3)}, 'not a class-embeddings'),
    ('strs.pt', {'cat': 'x'}, 'not a class-embeddings file'),
])
def test_bad_files_one_line(tmp_path, name, content, match):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        torch.save(content, path)
    with pytest.raises(ConfigError, match=match) as info:
        load_class_embeddings(str(path))
    assert str(path) in str(info.value) and '\n' not in str(info.value)
