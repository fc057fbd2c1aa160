"""2-D rotary position embedding (RoPE) of EVA02, computed for any H x W token grid.

EVA-CLIP builds, per axis, positions ``t = arange(n) / n * pt_seq_len`` (``pt_seq_len`` = 16 for
the released EVA02 models), frequencies ``theta ** -(arange(0, dim, 2) / dim)`` with
``dim = head_dim / 2``, repeats each angle twice (interleaved pairs), and concatenates the
row-axis angles before the column-axis angles. Upstream only rebuilds the table for square grids
(``int(sqrt(N))``); here the two axes are independent, and for ``H == W`` the result is the
upstream table bit for bit.
"""
from typing import Tuple

import torch
from torch import Tensor


def rope_angles(grid: Tuple[int, int], head_dim: int, pt_seq_len: int = 16,
                theta: float = 10000.0) -> Tensor:
    """Rotation angles of every grid position.

    Args:
        grid: ``(H, W)`` token grid.
        head_dim: attention head width (64 for EVA02-B/L).
        pt_seq_len: grid side the frequencies were pretrained for.
        theta: frequency base.

    Returns:
        ``(H*W, head_dim)`` angles, row-axis half first.
    """
    dim = head_dim // 2
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[:dim // 2].float() / dim))

    def axis(n: int) -> Tensor:
        t = torch.arange(n) / n * pt_seq_len
        return torch.einsum('i,f->if', t, freqs).repeat_interleave(2, dim=-1)  # (n, dim)

    h, w = grid
    ang_h = axis(h)[:, None, :].expand(h, w, dim)
    ang_w = axis(w)[None, :, :].expand(h, w, dim)
    return torch.cat([ang_h, ang_w], dim=-1).reshape(h * w, 2 * dim)


def rotate_pairs(x: Tensor) -> Tensor:
    """Map interleaved pairs ``(a, b) -> (-b, a)`` along the last axis."""
    a, b = x[..., 0::2], x[..., 1::2]
    return torch.stack([-b, a], dim=-1).flatten(-2)


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate ``x`` (``(..., H*W, head_dim)``) by precomputed ``cos`` / ``sin`` tables."""
    return x * cos + rotate_pairs(x) * sin
