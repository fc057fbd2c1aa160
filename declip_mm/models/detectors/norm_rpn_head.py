"""RPN head whose shared convolutions are normalised (F-ViT's OV-LVIS RPN).

CLIPSelf's OV-LVIS F-ViT configs use an RPN whose ``num_convs`` 3x3 convolutions are each
followed by a norm layer (SyncBN) before the ReLU (``F-ViT/models/custom_rpn_head.py``,
``CustomRPNHead``). mmdet 3's ``RPNHead`` has no norm option; this subclass adds one, with the
same module layout (``rpn_conv.<i>.conv`` / ``rpn_conv.<i>.bn``), so that released weights keep
their key names. Written from that description; no code is copied.
"""
from typing import Optional

from mmcv.cnn import ConvModule
from mmdet.models.dense_heads import RPNHead
from mmdet.registry import MODELS
from torch import nn


@MODELS.register_module()
class DeCLIPNormRPNHead(RPNHead):
    """``RPNHead`` with ``norm_cfg`` on its shared convolutions.

    Args:
        norm_cfg: norm layer after every shared 3x3 conv (e.g. ``dict(type='SyncBN')``;
            mmengine turns SyncBN into BN outside distributed runs). None: mmdet's RPNHead.
            Only used when ``num_convs > 1``, as in F-ViT (a single conv stays a plain
            ``nn.Conv2d``).
        **kwargs: ``RPNHead`` arguments (``in_channels``, ``feat_channels``, ``num_convs``,
            ``anchor_generator``, ...).
    """

    def __init__(self, *args, norm_cfg: Optional[dict] = None, **kwargs):
        self.norm_cfg = norm_cfg  # read by _init_layers, which the parent constructor calls
        super().__init__(*args, **kwargs)

    def _init_layers(self) -> None:
        super()._init_layers()
        if self.num_convs > 1 and self.norm_cfg is not None:
            self.rpn_conv = nn.Sequential(*[
                ConvModule(self.in_channels if i == 0 else self.feat_channels,
                           self.feat_channels, 3, padding=1, inplace=False,
                           norm_cfg=self.norm_cfg)
                for i in range(self.num_convs)])
