"""DeCLIP's decoupled self-self attention, as small pure functions.

All tensors are laid out ``(B, heads, N, d)``. ``scale`` multiplies the logits; the official
EVA02 training code applies none (``scale=1.0``), its OpenAI-ViT path applies ``d ** -0.5``.

* ``qq``  softmax(s Q Q^T) V
* ``kk``  softmax(s K K^T) V
* ``vv``  softmax(s V V^T) V
* ``csa`` (softmax(s Q Q^T) + softmax(s K K^T)) V  -- rows sum to 2, not renormalised
* ``all`` softmax(s (Q Q^T + K K^T + V V^T) / 3) V

The default path never materialises an N x N map: each softmax is one
``scaled_dot_product_attention`` call (and ``all`` is one call on [Q, K, V] concatenated along
the channel axis, whose Gram matrix is the sum of the three). ``explicit_self_self_attention``
builds the maps and is kept for tests and for visualising attention.
"""
from typing import List, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

DECOUPLED_MODES: Tuple[str, ...] = ('qq', 'kk', 'vv', 'csa', 'all')


def _similarity_sources(mode: str, q: Tensor, k: Tensor, v: Tensor) -> List[Tensor]:
    """Return the tensors whose self-similarities are soft-maxed separately (``all``: one)."""
    table = {'qq': [q], 'kk': [k], 'vv': [v], 'csa': [q, k], 'all': [torch.cat([q, k, v], -1)]}
    if mode not in table:
        raise ValueError(f'unknown decoupled attention mode {mode!r}; expected one of {DECOUPLED_MODES}')
    return table[mode]


def self_self_attention(q: Tensor, k: Tensor, v: Tensor, mode: str, scale: float = 1.0) -> Tensor:
    """Decoupled attention output without materialising attention maps.

    Args:
        q, k, v: ``(B, heads, N, d)`` projections (pre-RoPE for EVA02).
        mode: one of ``DECOUPLED_MODES``.
        scale: multiplier of the similarity logits.

    Returns:
        ``(B, heads, N, d)``: ``A @ v`` for the mode's attention ``A``.
    """
    sources = _similarity_sources(mode, q, k, v)
    if mode == 'all':
        scale = scale / 3.0
    out = None
    for x in sources:
        y = F.scaled_dot_product_attention(x, x, v, scale=scale)
        out = y if out is None else out + y
    return out


def self_self_attention_maps(q: Tensor, k: Tensor, v: Tensor, mode: str,
                             scale: float = 1.0) -> Tensor:
    """The explicit ``(B, heads, N, N)`` attention of a mode (csa rows sum to 2)."""
    sources = _similarity_sources(mode, q, k, v)
    if mode == 'all':
        scale = scale / 3.0
    maps = [torch.softmax((x @ x.transpose(-2, -1)) * scale, dim=-1) for x in sources]
    return maps[0] if len(maps) == 1 else maps[0] + maps[1]


def explicit_self_self_attention(q: Tensor, k: Tensor, v: Tensor, mode: str,
                                 scale: float = 1.0) -> Tuple[Tensor, Tensor]:
    """Reference formulation: returns ``(A @ v, A)`` with the maps materialised."""
    attn = self_self_attention_maps(q, k, v, mode, scale)
    return attn @ v, attn
