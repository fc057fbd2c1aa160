"""CAT-Seg cost-aggregation blocks: guided Swin (spatial) and linear-attention (class) layers.

Written from the CVPR CAT-Seg design (KU-CVLAB/CAT-Seg, ``cat_seg/modeling/transformer/model.py``,
MIT licence; PEERS.md section 3.1). timm's / mmseg's Swin blocks do not fit: CAT-Seg's window
attention has no relative-position bias and concatenates the appearance guidance to the input
of the query / key projections only; timm's window partition helpers and ``Mlp`` are reused.

Cost embeddings are ``(B, C, T, H, W)``: C channels, T classes, an H x W grid.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from timm.layers import Mlp
from timm.models.swin_transformer import window_partition, window_reverse
from torch import Tensor, nn


def shifted_window_mask(height: int, width: int, window: int, shift: int,
                        device: Optional[torch.device] = None) -> Tensor:
    """Additive attention mask ``(num_windows, window**2, window**2)`` of shifted windows.

    Tokens that come from different regions of the cyclically shifted map get -100, the rest 0
    (the Swin construction). ``height`` / ``width`` are multiples of ``window``.
    """
    region = torch.zeros(1, height, width, 1, device=device)
    cuts = (slice(0, -window), slice(-window, -shift), slice(-shift, None))
    label = 0
    for hs in cuts:
        for ws in cuts:
            region[:, hs, ws, :] = label
            label += 1
    ids = window_partition(region, (window, window)).reshape(-1, window * window)
    diff = ids.unsqueeze(1) - ids.unsqueeze(2)
    return diff.masked_fill(diff != 0, -100.0).masked_fill(diff == 0, 0.0)


def linear_attention(q: Tensor, k: Tensor, v: Tensor, eps: float = 1e-6) -> Tensor:
    """Linear attention ("Transformers are RNNs") with the elu + 1 feature map.

    ``out_l = sum_s phi(q_l) . phi(k_s) v_s / sum_s phi(q_l) . phi(k_s)``.

    Args:
        q: ``(N, L, heads, d)``; k, v: ``(N, S, heads, d)``.

    Returns:
        ``(N, L, heads, d)``.
    """
    q, k = F.elu(q) + 1, F.elu(k) + 1
    s = v.shape[1]
    kv = torch.einsum('nshd,nshv->nhdv', k, v / s)  # values scaled by 1/S against fp16 overflow
    z = 1.0 / (torch.einsum('nlhd,nhd->nlh', q, k.sum(dim=1)) + eps)
    return torch.einsum('nlhd,nhdv,nlh->nlhv', q, kv, z) * s


class GuidedWindowAttention(nn.Module):
    """Window self-attention whose queries and keys also see a guidance vector per token."""

    def __init__(self, dim: int, guidance_dim: int, num_heads: int):
        super().__init__()
        self.dim, self.num_heads = dim, num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.q = nn.Linear(dim + guidance_dim, dim)
        self.k = nn.Linear(dim + guidance_dim, dim)
        self.v = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        """``x`` ``(num_windows * N, L, dim + guidance_dim)``; ``mask`` ``(num_windows, L, L)``."""
        n, length, _ = x.shape

        def heads(t: Tensor) -> Tensor:
            return t.reshape(n, length, self.num_heads, -1).transpose(1, 2)

        q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x[..., :self.dim]))
        attn = (q * self.scale) @ k.transpose(-2, -1)
        if mask is not None:
            nw = mask.shape[0]
            attn = attn.view(n // nw, nw, self.num_heads, length, length) + mask[None, :, None]
            attn = attn.view(n, self.num_heads, length, length)
        out = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(n, length, self.dim)
        return self.proj(out)


class GuidedSwinBlock(nn.Module):
    """Pre-norm Swin block (window attention + MLP) with appearance guidance on q / k."""

    def __init__(self, dim: int, guidance_dim: int, num_heads: int, window: int, shift: int,
                 mlp_ratio: float = 4.0):
        super().__init__()
        self.window, self.shift = window, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = GuidedWindowAttention(dim, guidance_dim, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), act_layer=nn.GELU)

    def _geometry(self, h: int, w: int) -> Tuple[int, int]:
        """Window and shift for an ``h x w`` map: grids smaller than the window use one window."""
        if min(h, w) <= self.window:
            return min(h, w), 0
        return self.window, self.shift

    def forward(self, x: Tensor, guidance: Optional[Tensor]) -> Tensor:
        """``x`` ``(N, H, W, C)``, ``guidance`` ``(N, H, W, G)`` or None -> ``(N, H, W, C)``."""
        n, h, w, c = x.shape
        window, shift = self._geometry(h, w)
        y = self.norm1(x)
        if guidance is not None:
            y = torch.cat([y, guidance], dim=-1)
        ph, pw = (-h) % window, (-w) % window
        if ph or pw:
            y = F.pad(y, (0, 0, 0, pw, 0, ph))
        hp, wp = h + ph, w + pw
        mask = None
        if shift > 0:
            y = torch.roll(y, shifts=(-shift, -shift), dims=(1, 2))
            mask = shifted_window_mask(hp, wp, window, shift, y.device).to(y.dtype)
        win = window_partition(y, (window, window)).reshape(-1, window * window, y.shape[-1])
        out = self.attn(win, mask).reshape(-1, window, window, c)
        out = window_reverse(out, (window, window), hp, wp)
        if shift > 0:
            out = torch.roll(out, shifts=(shift, shift), dims=(1, 2))
        x = x + out[:, :h, :w]
        return x + self.mlp(self.norm2(x))


class SpatialAggregation(nn.Module):
    """Two guided Swin blocks (plain, then shifted windows) over each class's cost map."""

    def __init__(self, dim: int, guidance_dim: int, num_heads: int, window: int):
        super().__init__()
        self.blocks = nn.ModuleList([
            GuidedSwinBlock(dim, guidance_dim, num_heads, window, shift=0),
            GuidedSwinBlock(dim, guidance_dim, num_heads, window, shift=window // 2)])
        self.guidance_norm = nn.LayerNorm(guidance_dim) if guidance_dim > 0 else None

    def forward(self, x: Tensor, guidance: Optional[Tensor]) -> Tensor:
        """``x`` ``(B, C, T, H, W)``, ``guidance`` ``(B, G, H, W)`` -> ``(B, C, T, H, W)``."""
        b, c, t, h, w = x.shape
        y = x.permute(0, 2, 3, 4, 1).reshape(b * t, h, w, c)
        g = None
        if guidance is not None and self.guidance_norm is not None:
            g = self.guidance_norm(guidance.permute(0, 2, 3, 1))  # (B, H, W, G)
            g = g.unsqueeze(1).expand(-1, t, -1, -1, -1).reshape(b * t, h, w, -1)
        for block in self.blocks:
            y = block(y, g)
        return y.reshape(b, t, h, w, c).permute(0, 4, 1, 2, 3)


class ClassAggregation(nn.Module):
    """Linear attention across the classes at each (pooled) location, with text guidance.

    The class axis is padded with a learnt token up to ``pad_len`` classes (CAT-Seg keeps the
    attention's token count fixed); pooling over ``pooling_size`` (training) or
    ``test_pooling_size`` (inference) lowers the cost, the result is upsampled bilinearly and
    added to the input.
    """

    def __init__(self, dim: int, guidance_dim: int, num_heads: int,
                 pooling_size: Tuple[int, int] = (2, 2),
                 test_pooling_size: Tuple[int, int] = (1, 1), pad_len: int = 256):
        super().__init__()
        self.num_heads, self.pad_len = num_heads, pad_len
        self.pooling_size, self.test_pooling_size = tuple(pooling_size), tuple(test_pooling_size)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.q = nn.Linear(dim + guidance_dim, dim)
        self.k = nn.Linear(dim + guidance_dim, dim)
        self.v = nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, dim * 4), nn.ReLU(), nn.Linear(dim * 4, dim))
        # (1, 1, C) as CAT-Seg's ``padding_tokens`` / ``padding_guidance`` (checkpoint layout)
        self.pad_token = nn.Parameter(torch.zeros(1, 1, dim)) if pad_len > 0 else None
        self.pad_guidance = (nn.Parameter(torch.zeros(1, 1, guidance_dim))
                             if pad_len > 0 and guidance_dim > 0 else None)

    def attend(self, x: Tensor, guidance: Optional[Tensor]) -> Tensor:
        """Multi-head linear attention over classes: ``x`` ``(N, T, C)``, guidance ``(N, T, G)``."""
        n, t, c = x.shape
        qk_in = torch.cat([x, guidance], dim=-1) if guidance is not None else x
        split = lambda y: y.reshape(n, t, self.num_heads, -1)  # noqa: E731
        out = linear_attention(split(self.q(qk_in)), split(self.k(qk_in)), split(self.v(x)))
        return out.reshape(n, t, c)

    def forward(self, x: Tensor, guidance: Optional[Tensor]) -> Tensor:
        """``x`` ``(B, C, T, H, W)``, ``guidance`` ``(B, T, G)`` or None -> ``(B, C, T, H, W)``."""
        b, c, t, h, w = x.shape
        pool = self.pooling_size if self.training else self.test_pooling_size
        y = x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
        if pool != (1, 1):
            y = F.avg_pool2d(y, pool)
        hp, wp = y.shape[-2:]
        y = y.reshape(b, t, c, hp, wp).permute(0, 3, 4, 1, 2).reshape(b * hp * wp, t, c)
        g = None
        if guidance is not None:
            g = guidance.unsqueeze(1).expand(-1, hp * wp, -1, -1).reshape(b * hp * wp, t, -1)
        extra = self.pad_len - t if self.pad_token is not None else 0
        if extra > 0:
            y = torch.cat([y, self.pad_token.expand(y.shape[0], extra, -1)], dim=1)
            if g is not None:
                pad_g = (self.pad_guidance if self.pad_guidance is not None
                         else g.new_zeros(g.shape[-1]))
                g = torch.cat([g, pad_g.expand(g.shape[0], extra, -1)], dim=1)
        y = y + self.attend(self.norm1(y), g)
        y = y + self.mlp(self.norm2(y))
        y = y[:, :t].reshape(b, hp, wp, t, c).permute(0, 3, 4, 1, 2).reshape(b * t, c, hp, wp)
        y = F.interpolate(y, size=(h, w), mode='bilinear', align_corners=True)
        return x + y.reshape(b, t, c, h, w).permute(0, 2, 1, 3, 4)


class AggregatorLayer(nn.Module):
    """One CAT-Seg aggregation layer: spatial aggregation, then class aggregation."""

    def __init__(self, dim: int, appearance_dim: int, text_dim: int, num_heads: int,
                 window: int, pooling_size: Tuple[int, int], test_pooling_size: Tuple[int, int],
                 pad_len: int):
        super().__init__()
        self.spatial = SpatialAggregation(dim, appearance_dim, num_heads, window)
        self.classes = ClassAggregation(dim, text_dim, num_heads, pooling_size,
                                        test_pooling_size, pad_len)

    def forward(self, x: Tensor, appearance: Optional[Tensor], text: Optional[Tensor]) -> Tensor:
        return self.classes(self.spatial(x, appearance), text)
