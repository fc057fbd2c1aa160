"""CAT-Seg upsampling decoder (an mmseg decode head) and its one-hot BCE loss.

The aggregated cost embedding ``(B, C, T, 24, 24)`` is decoded per class by two upsampling
blocks (transposed conv x2, concatenation with CLIP guidance, two 3x3 conv + GroupNorm + ReLU),
whose guidance comes from intermediate CLIP blocks (3 and 7 for B/16): those maps are
upsampled x2 / x4 by transposed convolutions and projected by 3x3 convs. A 3x3 conv gives one
logit per class and pixel (96x96 for a 24x24 grid). Design from the CVPR CAT-Seg
(KU-CVLAB/CAT-Seg ``Aggregator.conv_decoder`` / ``Up`` and ``CATSeg.upsample1/2``, MIT licence),
written anew.
"""
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from torch import Tensor, nn


def one_hot_bce(logits: Tensor, label: Tensor, ignore_index: int = 255,
                ignored_as_negative: bool = True) -> Tensor:
    """Mean binary cross-entropy of per-class logits against one-hot labels.

    Args:
        logits: ``(B, T, H, W)``.
        label: ``(B, H, W)`` class indices; ``ignore_index`` marks unlabelled pixels.
        ignored_as_negative: CAT-Seg's choice: unlabelled pixels count with all-zero targets
            (the mean runs over every pixel). ``False`` drops them from the mean instead.
    """
    valid = label != ignore_index
    target = F.one_hot(torch.where(valid, label, 0).long(), logits.shape[1])
    target = (target * valid.unsqueeze(-1)).permute(0, 3, 1, 2).to(logits.dtype)
    loss = F.binary_cross_entropy_with_logits(logits, target, reduction='none')
    if ignored_as_negative:
        return loss.mean()
    mask = valid.unsqueeze(1).to(loss.dtype)
    return (loss * mask).sum() / (mask.sum() * logits.shape[1]).clamp(min=1)


@MODELS.register_module()
class DeCLIPCATSegBCELoss(nn.Module):
    """``one_hot_bce`` as an mmseg loss (``loss_decode`` of the CAT-Seg head)."""

    def __init__(self, loss_weight: float = 1.0, ignored_as_negative: bool = True,
                 loss_name: str = 'loss_bce'):
        super().__init__()
        self.loss_weight, self.ignored_as_negative = loss_weight, ignored_as_negative
        self._loss_name = loss_name

    def forward(self, cls_score: Tensor, label: Tensor, weight: Optional[Tensor] = None,
                ignore_index: int = 255, **kwargs) -> Tensor:
        return self.loss_weight * one_hot_bce(cls_score, label, ignore_index,
                                              self.ignored_as_negative)

    @property
    def loss_name(self) -> str:
        return self._loss_name


class UpBlock(nn.Module):
    """x2 transposed conv, concat guidance, two 3x3 conv + GroupNorm + ReLU."""

    def __init__(self, in_channels: int, out_channels: int, guidance_channels: int):
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, in_channels - guidance_channels, 2, stride=2)
        norm = dict(type='GN', num_groups=max(out_channels // 16, 1))
        self.convs = nn.Sequential(
            ConvModule(in_channels, out_channels, 3, padding=1, norm_cfg=norm),
            ConvModule(out_channels, out_channels, 3, padding=1, norm_cfg=norm))

    def forward(self, x: Tensor, guidance: Optional[Tensor]) -> Tensor:
        """``x`` ``(B*T, C, h, w)``, ``guidance`` ``(B, G, 2h, 2w)`` -> ``(B*T, out, 2h, 2w)``."""
        x = self.up(x)
        if guidance is not None:
            reps = x.shape[0] // guidance.shape[0]
            x = torch.cat([x, guidance.repeat_interleave(reps, dim=0)], dim=1)
        return self.convs(x)


@MODELS.register_module()
class DeCLIPCATSegHead(BaseDecodeHead):
    """Per-class upsampling decoder with CLIP-feature guidance; one output channel per class.

    ``forward`` takes ``(aggregator output dict, (block map, block map))``: the aggregator's
    ``embed`` ``(B, in_channels, T, H, W)`` and two intermediate CLIP maps ``(B, clip_width,
    H, W)`` (shallower first). Returns logits ``(B, T, 4H, 4W)``; classes the aggregator
    dropped (more than ``pad_len``) get -100.

    Args:
        in_channels: cost-embedding channels (the aggregator's ``hidden_dim``, 128).
        channels: last decoder width (32).
        clip_width: channels of the CLIP block maps (768 for B/16, 1024 for L/14).
        decoder_dims: widths of the two upsampling blocks ((64, 32)).
        guidance_dims: widths after the x2 / x4 transposed convs of the CLIP maps ((256, 128)).
        guidance_proj_dims: projected guidance widths ((32, 16)).
        num_classes: training vocabulary size (informative; the output follows the vocabulary).
    """

    def __init__(self,
                 in_channels: int = 128,
                 channels: int = 32,
                 clip_width: int = 768,
                 decoder_dims: Sequence[int] = (64, 32),
                 guidance_dims: Sequence[int] = (256, 128),
                 guidance_proj_dims: Sequence[int] = (32, 16),
                 num_classes: int = 171,
                 loss_decode: dict = dict(type='DeCLIPCATSegBCELoss'),
                 **kwargs):
        if channels != decoder_dims[-1]:
            raise ValueError(f'channels ({channels}) must equal decoder_dims[-1] '
                             f'({decoder_dims[-1]})')
        kwargs.setdefault('threshold', 0.5)
        kwargs.setdefault('dropout_ratio', 0.0)
        super().__init__(in_channels=in_channels, channels=channels, num_classes=num_classes,
                         out_channels=1, loss_decode=loss_decode, **kwargs)
        self.guidance_up = nn.ModuleList([
            nn.ConvTranspose2d(clip_width, d, 2 ** (i + 1), stride=2 ** (i + 1))
            for i, d in enumerate(guidance_dims)])
        self.guidance_proj = nn.ModuleList([
            ConvModule(d, p, 3, padding=1) for d, p in zip(guidance_dims, guidance_proj_dims)])
        widths = [in_channels, *decoder_dims]
        self.ups = nn.ModuleList([
            UpBlock(widths[i], widths[i + 1], guidance_proj_dims[i])
            for i in range(len(decoder_dims))])
        self.conv_seg = nn.Conv2d(channels, 1, kernel_size=3, padding=1)

    def decoder_guidance(self, maps: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """CLIP block maps ``(B, W, H, W)`` -> guidance at x2, x4 resolution."""
        return tuple(proj(up(m)) for up, proj, m in zip(self.guidance_up, self.guidance_proj, maps))

    def forward(self, inputs: Tuple[Dict[str, Tensor], Sequence[Tensor]]) -> Tensor:
        agg, maps = inputs
        x = agg['embed']
        b, c, t, h, w = x.shape
        x = x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
        for up, g in zip(self.ups, self.decoder_guidance(maps)):
            x = up(x, g)
        logits = self.conv_seg(x).reshape(b, t, *x.shape[-2:])
        selected = agg.get('selected')
        if selected is None:
            return logits
        full = logits.new_full((b, agg['num_classes'], *logits.shape[-2:]), -100.0)
        index = selected[..., None, None].expand(-1, -1, *logits.shape[-2:])
        return full.scatter(1, index, logits)
