"""Frozen vision foundation models (context teachers): timm architectures, local official weights.

Each teacher returns its last-layer patch tokens as a ``(B, C, h, w)`` map (``h, w`` = input
size / patch): DINOv2 and DINO the final-norm output with CLS and register tokens removed (what
``get_intermediate_layers(..., reshape=True)[0]`` gives in the official code), SAM the image
encoder's neck output. They are swappable in configs::

    vfm=dict(type='DeCLIPDINOv2Teacher', arch='vitb14_reg',
             checkpoint='dinov2_vitb14_reg4_pretrain.pth')
    vfm=dict(type='DeCLIPDINOTeacher', arch='vitb8', checkpoint='dino_vitbase8_pretrain.pth')
    vfm=dict(type='DeCLIPSAMTeacher', arch='vitb', checkpoint='sam_vit_b_01ec64.pth')

``arch_overrides`` passes keyword arguments to the timm constructor (tests build tiny models with
``dict(embed_dim=32, depth=2, num_heads=2)``). Weights are never downloaded: without
``checkpoint`` the teacher keeps its random initialisation (tests only). On a CUDA input the
model is cast to fp16 once, as the official code runs its VFMs; the output is float32.
"""
from abc import abstractmethod
from typing import Dict, Optional
import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from ...registry import MODELS
from ...utils.errors import ConfigError
from ...checkpoint import load_vfm_checkpoint
from ...checkpoint.layouts.vfm import convert_dino, convert_dinov2, convert_sam


class VFMTeacher(BaseModule):
    """Base of the frozen VFM teachers (not registered).

    Args:
        arch: a key of the subclass's ``TIMM_NAMES``.
        checkpoint: local file in the model's official format, loaded by ``init_weights``.
        arch_overrides: extra keyword arguments for ``timm.create_model``.
        fp16: run in half precision on CUDA inputs.
    """

    TIMM_NAMES: Dict[str, str] = {}

    def __init__(self, arch: str, checkpoint: Optional[str] = None,
                 arch_overrides: Optional[dict] = None, fp16: bool = True,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if arch not in self.TIMM_NAMES:
            raise ConfigError(f'{type(self).__name__}: unknown arch {arch!r}; expected one of '
                              f'{sorted(self.TIMM_NAMES)}')
        import timm
        self.arch, self.checkpoint, self.fp16 = arch, checkpoint, fp16
        kwargs = dict(self.default_kwargs(), **(arch_overrides or {}))
        self.model = timm.create_model(self.TIMM_NAMES[arch], pretrained=False, **kwargs)
        self.requires_grad_(False)
        self.eval()

    @staticmethod
    def default_kwargs() -> dict:
        return dict(num_classes=0, dynamic_img_size=True)

    @staticmethod
    @abstractmethod
    def convert(sd: Dict[str, Tensor], model: nn.Module) -> Dict[str, Tensor]:
        """Official-layout state dict -> timm names (per teacher family)."""

    @property
    def patch_size(self) -> int:
        return int(self.model.patch_embed.patch_size[0])

    @property
    def out_channels(self) -> int:
        return int(self.model.num_features)

    def train(self, mode: bool = True) -> 'VFMTeacher':
        """Always in eval mode: the teacher is frozen."""
        return super().train(False)

    def init_weights(self) -> None:
        """Load ``checkpoint`` (if any); never re-initialises randomly."""
        if self.checkpoint:
            load_vfm_checkpoint(self.model, self.checkpoint, self.convert)
        self._is_init = True

    @abstractmethod
    def tokens(self, x: Tensor) -> Tensor:
        """Patch-token map ``(B, C, h, w)`` of a padded input (per teacher family)."""

    @torch.no_grad()
    def forward(self, x: Tensor) -> Tensor:
        """``(B, 3, H, W)`` normalised images -> ``(B, C, ceil(H/p), ceil(W/p))`` float32 tokens."""
        p = self.patch_size
        ph, pw = (-x.shape[-2]) % p, (-x.shape[-1]) % p
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph))
        if self.fp16 and x.is_cuda:
            if next(self.model.parameters()).dtype != torch.float16:
                self.model.half()
            x = x.half()
        else:
            x = x.to(next(self.model.parameters()).dtype)
        return self.tokens(x).float()


class _TimmViTTeacher(VFMTeacher):
    """DINO / DINOv2: timm ``VisionTransformer``; drop the prefix (CLS, register) tokens."""

    def tokens(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2] // self.patch_size, x.shape[-1] // self.patch_size
        out = self.model.forward_features(x)[:, self.model.num_prefix_tokens:]
        return out.transpose(1, 2).reshape(out.shape[0], out.shape[2], h, w)


@MODELS.register_module()
class DeCLIPDINOv2Teacher(_TimmViTTeacher):
    """DINOv2 (default context teacher: ``vitb14_reg`` for B students, ``vitl14_reg`` for L)."""

    TIMM_NAMES = {'vitb14_reg': 'vit_base_patch14_reg4_dinov2',
                  'vitl14_reg': 'vit_large_patch14_reg4_dinov2',
                  'vitb14': 'vit_base_patch14_dinov2',
                  'vitl14': 'vit_large_patch14_dinov2'}

    def __init__(self, arch: str = 'vitb14_reg', **kwargs):
        super().__init__(arch, **kwargs)

    @staticmethod
    def convert(sd, model):
        return convert_dinov2(sd, model)


@MODELS.register_module()
class DeCLIPDINOTeacher(_TimmViTTeacher):
    """DINO v1 ViT-B/16 (``vitb16``) or ViT-B/8 (``vitb8``)."""

    TIMM_NAMES = {'vitb16': 'vit_base_patch16_224', 'vitb8': 'vit_base_patch8_224'}

    def __init__(self, arch: str = 'vitb16', **kwargs):
        super().__init__(arch, **kwargs)

    @staticmethod
    def convert(sd, model):
        return convert_dino(sd, model)


@MODELS.register_module()
class DeCLIPSAMTeacher(VFMTeacher):
    """SAM image encoder, ViT-B (``vitb``) or ViT-L (``vitl``); tokens: its 256-channel neck."""

    TIMM_NAMES = {'vitb': 'samvit_base_patch16', 'vitl': 'samvit_large_patch16'}

    def __init__(self, arch: str = 'vitb', **kwargs):
        super().__init__(arch, **kwargs)

    @staticmethod
    def default_kwargs() -> dict:
        return dict(num_classes=0)  # SAM resamples its position embeddings on every forward

    @staticmethod
    def convert(sd, model):
        return convert_sam(sd, model)

    def tokens(self, x: Tensor) -> Tensor:
        return self.model.forward_features(x)

