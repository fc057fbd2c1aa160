"""Simple feature pyramid from single-stride ViT maps (F-ViT's adapters, ViTDet's SimpleFPN idea).

The frozen ViT gives four maps at stride ``p`` (16 for B/16, 14 for L/14). F-ViT (CLIPSelf,
``F-ViT/models/evaclip_vit.py``) turns them into strides ``p/4, p/2, p, 2p`` with

====== =============================================================== =========
scale  layers                                                          stride
====== =============================================================== =========
4      ConvTranspose 2x -> norm -> GELU -> ConvTranspose 2x            p / 4
2      ConvTranspose 2x                                                p / 2
1      identity                                                        p
0.5    MaxPool 2x2                                                     2 p
====== =============================================================== =========

before mmdet's ``FPN``. Written from that description; no code is copied.
"""
from typing import List, Optional, Sequence, Tuple

from mmcv.cnn import build_norm_layer
from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor, nn


def make_rescaler(scale: float, in_channels: int, out_channels: int,
                  norm_cfg: dict) -> nn.Module:
    """One adapter: ``scale`` in {4, 2, 1, 0.5}; channels change only in the deconv paths."""
    if scale == 4:
        return nn.Sequential(
            nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2),
            build_norm_layer(norm_cfg, out_channels)[1],
            nn.GELU(),
            nn.ConvTranspose2d(out_channels, out_channels, kernel_size=2, stride=2))
    if scale == 2:
        return nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2)
    if scale in (1, 0.5):
        if in_channels != out_channels:
            raise ValueError('identity / max-pool adapters keep the channels: '
                             f'in_channels {in_channels} != out_channels {out_channels}')
        return nn.Identity() if scale == 1 else nn.MaxPool2d(kernel_size=2, stride=2)
    raise ValueError(f'unsupported adapter scale {scale}; use 4, 2, 1 or 0.5')


@MODELS.register_module()
class DeCLIPPyramidAdapter(BaseModule):
    """Rescale ViT maps of one stride into a pyramid (one adapter per input map).

    Args:
        in_channels: channels of the ViT maps (the tower width: 768 B, 1024 L).
        out_channels: channels of the deconv outputs; the default keeps ``in_channels``
            (F-ViT), as the identity and max-pool adapters must.
        scales: one resize factor per input map, fine to coarse.
        norm_cfg: norm between the two deconvolutions of the x4 path (default BN; F-ViT's
            configs use SyncBN, which mmengine reverts to BN when not distributed).
        init_cfg: mmengine init config.
    """

    def __init__(self, in_channels: int = 768, out_channels: Optional[int] = None,
                 scales: Sequence[float] = (4, 2, 1, 0.5),
                 norm_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        norm_cfg = dict(type='BN', requires_grad=True) if norm_cfg is None else norm_cfg
        out_channels = in_channels if out_channels is None else out_channels
        self.scales = tuple(scales)
        self.adapters = nn.ModuleList(
            make_rescaler(s, in_channels, out_channels, norm_cfg) for s in self.scales)

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """``len(scales)`` maps ``(B, C, H, W)`` -> maps ``(B, C', H*s, W*s)``.

        Extra inputs after the first ``len(scales)`` (e.g. a dense VLM map) are not accepted:
        pass only the pyramid maps.
        """
        if len(inputs) != len(self.scales):
            raise ValueError(f'DeCLIPPyramidAdapter expects {len(self.scales)} maps, '
                             f'got {len(inputs)}')
        outs: List[Tensor] = [adapter(x) for adapter, x in zip(self.adapters, inputs)]
        return tuple(outs)
