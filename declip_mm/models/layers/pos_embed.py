"""Absolute position embeddings resampled to the current token grid, on every forward."""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def resample_abs_pos_embed(pos_embed: Tensor, src_grid: Tuple[int, int],
                           dst_grid: Tuple[int, int], num_prefix_tokens: int = 1) -> Tensor:
    """Bicubically resize a ViT's absolute position embedding to a new grid.

    Matches the EVA-CLIP / DeCLIP rescaling: ``F.interpolate(mode='bicubic',
    align_corners=False)`` without antialiasing, prefix (CLS) entries copied unchanged, and the
    input returned as is when the grid does not change.

    Args:
        pos_embed: ``(1, prefix + Hs*Ws, C)``.
        src_grid: ``(Hs, Ws)``, the grid the embedding was trained for.
        dst_grid: ``(Hd, Wd)``, the grid of the current input.
        num_prefix_tokens: leading non-spatial tokens (1 for CLS).

    Returns:
        ``(1, prefix + Hd*Wd, C)``.
    """
    if tuple(src_grid) == tuple(dst_grid):
        return pos_embed
    prefix, grid = pos_embed[:, :num_prefix_tokens], pos_embed[:, num_prefix_tokens:]
    channels = grid.shape[-1]
    grid = grid.transpose(1, 2).reshape(1, channels, *src_grid)
    work = torch.promote_types(grid.dtype, torch.float32)  # half -> float32, float64 stays
    grid = F.interpolate(grid.to(work), size=tuple(dst_grid), mode='bicubic', align_corners=False)
    grid = grid.reshape(1, channels, -1).transpose(1, 2).to(pos_embed.dtype)
    return torch.cat([prefix, grid], dim=1)
