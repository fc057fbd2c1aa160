"""CAT-Seg cost-volume aggregator (an mmseg neck).

The cost volume is the cosine similarity of the dense image embeddings (the DeCLIP content map)
with the class text embeddings, one channel per prompt template; a 7x7 convolution embeds it,
then ``num_layers`` aggregation layers refine it: spatial aggregation (guided Swin blocks,
appearance guidance = the projected dense map) then class aggregation (linear attention across
classes, text guidance = the projected text embeddings). Design from the CVPR CAT-Seg
(KU-CVLAB/CAT-Seg ``Aggregator``, MIT licence), written anew.
"""
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor, nn

from .catseg_blocks import AggregatorLayer


def cost_volume(dense: Tensor, text: Tensor) -> Tensor:
    """Cosine cost volume.

    Args:
        dense: ``(B, D, H, W)`` image embeddings.
        text: ``(B, T, P, D)`` (or ``(T, P, D)``, shared) text embeddings, P prompt templates.

    Returns:
        ``(B, P, T, H, W)``.
    """
    if text.dim() == 3:
        text = text.unsqueeze(0).expand(dense.shape[0], -1, -1, -1)
    return torch.einsum('bdhw,btpd->bpthw', F.normalize(dense, dim=1), F.normalize(text, dim=-1))


def select_classes(cost: Tensor, k: int) -> Tensor:
    """Indices ``(B, k)`` of the k classes with the highest peak cost (any prompt, any place)."""
    peak = cost.permute(0, 2, 1, 3, 4).flatten(2).max(dim=-1).values  # (B, T)
    return peak.topk(k, dim=-1, sorted=False).indices


@MODELS.register_module()
class DeCLIPCATSegAggregator(BaseModule):
    """Cost-volume embedding + CAT-Seg aggregation layers.

    Args:
        embed_dim: channels of the dense map and text embeddings (512 for B/16, 768 for L/14).
        hidden_dim: channels of the cost embedding (128).
        num_layers: aggregation layers (2).
        num_heads: heads of both attentions (4).
        window_size: Swin window on the 24x24 grid (12).
        appearance_guidance_dim / text_guidance_dim: projected guidance widths (128; 0 = none).
        pooling_size / test_pooling_size: class-aggregation pooling ((2, 2) / (1, 1)).
        prompt_channels: prompt templates P per class (1 for 'A photo of a {} in the scene').
        pad_len: classes the class attention always sees (padding, or, above it, the top
            ``pad_len`` classes by peak cost are kept and the rest scored -100 later); 0 = off.
    """

    def __init__(self,
                 embed_dim: int = 512,
                 hidden_dim: int = 128,
                 num_layers: int = 2,
                 num_heads: int = 4,
                 window_size: int = 12,
                 appearance_guidance_dim: int = 128,
                 text_guidance_dim: int = 128,
                 pooling_size: Sequence[int] = (2, 2),
                 test_pooling_size: Sequence[int] = (1, 1),
                 prompt_channels: int = 1,
                 pad_len: int = 256,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.pad_len = pad_len
        self.cost_embed = nn.Conv2d(prompt_channels, hidden_dim, kernel_size=7, padding=3)
        self.appearance_proj = (nn.Sequential(
            nn.Conv2d(embed_dim, appearance_guidance_dim, 3, padding=1), nn.ReLU())
            if appearance_guidance_dim > 0 else None)
        self.text_proj = (nn.Sequential(nn.Linear(embed_dim, text_guidance_dim), nn.ReLU())
                          if text_guidance_dim > 0 else None)
        self.layers = nn.ModuleList([
            AggregatorLayer(hidden_dim, appearance_guidance_dim, text_guidance_dim, num_heads,
                            window_size, tuple(pooling_size), tuple(test_pooling_size), pad_len)
            for _ in range(num_layers)])

    def embed_cost(self, cost: Tensor) -> Tensor:
        """``(B, P, T, H, W)`` -> ``(B, hidden, T, H, W)`` with the 7x7 conv per class."""
        b, p, t, h, w = cost.shape
        x = self.cost_embed(cost.permute(0, 2, 1, 3, 4).reshape(b * t, p, h, w))
        return x.reshape(b, t, -1, h, w).permute(0, 2, 1, 3, 4)

    def forward(self, dense: Tensor, text: Tensor) -> Dict[str, Optional[Tensor]]:
        """Aggregate the cost volume.

        Args:
            dense: ``(B, D, H, W)`` dense image embeddings.
            text: ``(T, P, D)`` or ``(B, T, P, D)`` class text embeddings.

        Returns:
            dict with ``embed`` ``(B, hidden, T', H, W)``, ``selected`` (``(B, T')`` class
            indices when more than ``pad_len`` classes were given, else None) and
            ``num_classes`` (T).
        """
        if text.dim() == 3:
            text = text.unsqueeze(0).expand(dense.shape[0], -1, -1, -1)
        num_classes = text.shape[1]
        cost = cost_volume(dense, text)
        selected = None
        if 0 < self.pad_len < num_classes:
            selected = select_classes(cost, self.pad_len)
            text = torch.gather(text, 1, selected[..., None, None].expand(
                -1, -1, text.shape[2], text.shape[3]))
            cost = cost_volume(dense, text)
        x = self.embed_cost(cost)
        appearance = self.appearance_proj(dense) if self.appearance_proj is not None else None
        text_guidance = None
        if self.text_proj is not None:
            mean_text = F.normalize(F.normalize(text, dim=-1).mean(dim=2), dim=-1)
            text_guidance = self.text_proj(mean_text)
        for layer in self.layers:
            x = layer(x, appearance, text_guidance)
        return dict(embed=x, selected=selected, num_classes=num_classes)
