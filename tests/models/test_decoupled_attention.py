"""Decoupled self-self attention (layers/decoupled_attention.py): SDPA path vs explicit maps,
row sums, a case computed by hand, and gradients."""
import math

import pytest
import torch

from declip_mm.models.layers.decoupled_attention import (DECOUPLED_MODES,
                                                         explicit_self_self_attention,
                                                         self_self_attention,
                                                         self_self_attention_maps)


def _qkv(seed: int = 0, b: int = 2, h: int = 3, n: int = 17, d: int = 8, scale: float = 1.0):
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(b, h, n, d, generator=g, dtype=torch.float64) * scale
                 for _ in range(3))


def _reference(q, k, v, mode, s):
    """The method's formulas written out independently of the module."""
    sm = lambda x: torch.softmax(s * (x @ x.transpose(-2, -1)), dim=-1)  # noqa: E731
    if mode == 'all':
        logits = (q @ q.transpose(-2, -1) + k @ k.transpose(-2, -1) + v @ v.transpose(-2, -1)) / 3
        attn = torch.softmax(s * logits, dim=-1)
    else:
        attn = {'qq': lambda: sm(q), 'kk': lambda: sm(k), 'vv': lambda: sm(v),
                'csa': lambda: sm(q) + sm(k)}[mode]()
    return attn @ v, attn


@pytest.mark.parametrize('mode', DECOUPLED_MODES)
@pytest.mark.parametrize('scale', [1.0, 8 ** -0.5])
def test_sdpa_equals_explicit(mode, scale):
    q, k, v = (t.float() for t in _qkv(seed=1))
    fast = self_self_attention(q, k, v, mode, scale)
    slow, attn = explicit_self_self_attention(q, k, v, mode, scale)
    assert fast.shape == q.shape and attn.shape == (2, 3, 17, 17)
    assert (fast - slow).abs().max().item() <= 1e-6
    ref_out, ref_attn = _reference(*_qkv(seed=1), mode, scale)  # float64 reference
    assert torch.allclose(slow.double(), ref_out, atol=1e-5)
    assert torch.allclose(attn.double(), ref_attn, atol=1e-6)


@pytest.mark.parametrize('mode', DECOUPLED_MODES)
def test_sdpa_equals_explicit_peaked_logits(mode):
    """Unscaled logits of larger vectors (EVA02 regime, logits up to ~100): both float32 paths
    stay within a few ulps of a float64 reference."""
    q64, k64, v64 = _qkv(seed=2, n=33, d=16, scale=2.0)
    q, k, v = q64.float(), k64.float(), v64.float()
    fast = self_self_attention(q, k, v, mode, 1.0).double()
    slow = explicit_self_self_attention(q, k, v, mode, 1.0)[0].double()
    ref = _reference(q64, k64, v64, mode, 1.0)[0]
    size = ref.abs().max()
    assert ((fast - slow).abs().max() / size).item() <= 5e-6
    assert ((fast - ref).abs().max() / size).item() <= 5e-6


@pytest.mark.parametrize('mode', DECOUPLED_MODES)
def test_row_sums(mode):
    q, k, v = _qkv(seed=3)
    attn = self_self_attention_maps(q, k, v, mode, 0.5)
    expected = 2.0 if mode == 'csa' else 1.0  # csa is not renormalised
    assert torch.allclose(attn.sum(-1), torch.full_like(attn[..., 0], expected), atol=1e-12)
    assert (attn >= 0).all()


def test_hand_computed_case():
    """N=2 tokens, d=2, one head: every entry worked out with exp()."""
    q = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]])   # Q Q^T = I
    k = torch.tensor([[[[0.0, 0.0], [0.0, 0.0]]]])   # K K^T = 0 -> uniform rows
    v = torch.tensor([[[[1.0, 0.0], [0.0, 2.0]]]])   # V V^T = diag(1, 4)
    e = math.e
    a, b = e / (e + 1), 1 / (e + 1)                  # softmax([1, 0])
    qq = torch.tensor([[a, b], [b, a]])
    expect = {
        'qq': qq,
        'kk': torch.full((2, 2), 0.5),
        'vv': torch.tensor([[a, b], [1 / (e ** 4 + 1), e ** 4 / (e ** 4 + 1)]]),
        'csa': qq + 0.5,
        # logits (I + 0 + diag(1, 4)) / 3 = diag(2/3, 5/3)
        'all': torch.tensor([[math.exp(2 / 3) / (math.exp(2 / 3) + 1), 1 / (math.exp(2 / 3) + 1)],
                             [1 / (math.exp(5 / 3) + 1), math.exp(5 / 3) / (math.exp(5 / 3) + 1)]]),
    }
    for mode, attn in expect.items():
        out = self_self_attention(q, k, v, mode, 1.0)[0, 0]
        maps = self_self_attention_maps(q, k, v, mode, 1.0)[0, 0]
        assert torch.allclose(maps, attn, atol=1e-6), mode
        assert torch.allclose(out, attn @ v[0, 0], atol=1e-6), mode
    # csa, first token: (a + 0.5) * [1, 0] + (b + 0.5) * [0, 2]
    out = self_self_attention(q, k, v, 'csa', 1.0)[0, 0, 0]
    assert torch.allclose(out, torch.tensor([a + 0.5, 2 * (b + 0.5)]), atol=1e-6)
    # scale multiplies the logits: qq with s = 2 is softmax([2, 0])
    s2 = self_self_attention_maps(q, k, v, 'qq', 2.0)[0, 0, 0]
    assert torch.allclose(s2, torch.tensor([e ** 2 / (e ** 2 + 1), 1 / (e ** 2 + 1)]), atol=1e-6)


@pytest.mark.parametrize('mode', ['qq', 'csa', 'all'])
def test_gradients_match_explicit(mode):
    q0, k0, v0 = (t.float() for t in _qkv(seed=4, n=9))
    grads = []
    for fn in (lambda *a: self_self_attention(*a, mode, 0.5),
               lambda *a: explicit_self_self_attention(*a, mode, 0.5)[0]):
        q, k, v = (t.clone().requires_grad_(True) for t in (q0, k0, v0))
        (fn(q, k, v) * torch.linspace(-1, 1, 8)).sum().backward()
        grads.append([t.grad for t in (q, k, v)])
    for a, b in zip(*grads):
        if a is None or b is None:  # k is unused by qq: no gradient on either path
            assert a is None and b is None and mode == 'qq'
            continue
        assert (a - b).abs().max().item() <= 1e-5


def test_unknown_mode():
    q, k, v = _qkv()
    with pytest.raises(ValueError, match='unknown decoupled attention mode'):
        self_self_attention(q, k, v, 'qk')
    with pytest.raises(ValueError, match='unknown decoupled attention mode'):
        self_self_attention_maps(q, k, v, 'vanilla')
