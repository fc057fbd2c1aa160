"""declip_mm.vocab.cache: the one embedding cache (memory + disk), keyed by text weights,
templates and names, and where it lives by default."""
import os

import pytest
import torch
from torch import nn

from declip_mm.vocab import EmbeddingCache, default_cache_dir, get_templates, weights_fingerprint
from declip_mm.vocab.cache import cache_key

TPL = get_templates(['a {}.'])


class Counter:
    """``compute`` callback returning distinct tensors and counting its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, n=2):
        self.calls += 1
        return torch.full((n, 3), float(self.calls))


def test_default_location(monkeypatch, tmp_path):
    monkeypatch.setenv('DECLIP_MM_TEXT_CACHE', str(tmp_path / 'c'))
    assert default_cache_dir() == str(tmp_path / 'c')
    assert EmbeddingCache().cache_dir == str(tmp_path / 'c')
    monkeypatch.delenv('DECLIP_MM_TEXT_CACHE')
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    assert default_cache_dir() == str(tmp_path / 'xdg' / 'declip_mm' / 'text_embeddings')
    monkeypatch.delenv('XDG_CACHE_HOME')
    assert default_cache_dir() == os.path.join(os.path.expanduser('~'), '.cache', 'declip_mm',
                                               'text_embeddings')
    assert os.path.isabs(default_cache_dir())
    assert EmbeddingCache(False).cache_dir is None and EmbeddingCache('').cache_dir is None


def test_key_depends_on_weights_templates_names_and_kind():
    base = cache_key('w1', TPL, ['cat', 'dog'])
    others = [cache_key('w2', TPL, ['cat', 'dog']),
              cache_key('w1', get_templates(['the {}.']), ['cat', 'dog']),
              cache_key('w1', get_templates(dict(templates=['a {}.'], style='fvit')),
                        ['cat', 'dog']),
              cache_key('w1', TPL, ['dog', 'cat']),
              cache_key('w1', TPL, ['cat', 'dog'], kind='per_template')]
    assert len({base, *others}) == 6
    assert cache_key('w1', get_templates(['a {}.']), ['cat', 'dog']) == base


def test_memory_hits_and_misses():
    cache, compute = EmbeddingCache(False), Counter()
    a = cache.get_or_compute(['cat', 'dog'], TPL, 'w1', compute)
    b = cache.get_or_compute(['cat', 'dog'], TPL, 'w1', compute)
    assert compute.calls == 1 and a is b
    cache.get_or_compute(['cat', 'dog'], TPL, 'w2', compute)                    # other weights
    cache.get_or_compute(['cat', 'dog'], get_templates(['x {}']), 'w1', compute)  # templates
    cache.get_or_compute(['dog', 'cat'], TPL, 'w1', compute)                    # names
    assert compute.calls == 4
    small = EmbeddingCache(False, max_entries=1)
    small.get_or_compute(['a'], TPL, 'w', lambda: compute(1))
    small.get_or_compute(['b'], TPL, 'w', lambda: compute(1))
    small.get_or_compute(['a'], TPL, 'w', lambda: compute(1))    # evicted: computed again
    assert compute.calls == 7


def test_disk_entries_shared_between_caches(tmp_path, monkeypatch):
    logged = []
    monkeypatch.setattr('declip_mm.vocab.cache.print_log', lambda msg, **kw: logged.append(msg))
    folder = tmp_path / 'cache'
    compute = Counter()
    first = EmbeddingCache(str(folder)).get_or_compute(['cat', 'dog'], TPL, 'w1', compute)
    files = os.listdir(folder)
    assert len(files) == 1 and files[0].endswith('.pt')
    assert len(logged) == 1
    assert 'computing 2 names x 1 templates' in logged[0] and str(folder) in logged[0]
    again = EmbeddingCache(str(folder)).get_or_compute(
        ['cat', 'dog'], TPL, 'w1', lambda: pytest.fail('recomputed'))
    assert torch.equal(again, first)
    EmbeddingCache(str(folder)).get_or_compute(['cat', 'dog'], TPL, 'w2', compute)
    assert compute.calls == 2 and len(os.listdir(folder)) == 2


def test_weights_fingerprint_follows_the_weights():
    torch.manual_seed(0)
    a, b = nn.Linear(4, 3), nn.Linear(4, 3)
    fa = weights_fingerprint(a)
    assert fa == weights_fingerprint(a) and fa != weights_fingerprint(b)
    b.load_state_dict(a.state_dict())
    assert weights_fingerprint(b) == fa               # same values, same fingerprint
    with torch.no_grad():
        a.weight[0, 0] += 1.0                          # in place: the memo is refreshed
    assert weights_fingerprint(a) != fa


def test_weights_fingerprint_sees_every_value():
    # a change away from any sampled position (e.g. one fine-tuned embedding row) is a new key
    emb = nn.Embedding(1000, 8)
    before = weights_fingerprint(emb)
    other = nn.Embedding(1000, 8)
    other.load_state_dict(emb.state_dict())
    with torch.no_grad():
        other.weight[997, 3] += 1e-3
    assert weights_fingerprint(other) != before
    other.load_state_dict(emb.state_dict())
    assert weights_fingerprint(other) == before
