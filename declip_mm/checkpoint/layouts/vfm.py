"""Vision-foundation-model files in their official layouts -> timm models (the VFM teachers).

* DINOv2 (torch.hub ``dinov2_vit{b,l}14[_reg4]_pretrain.pth``): converted by timm's own
  ``vision_transformer.checkpoint_filter_fn`` (``register_tokens`` -> ``reg_token``, the CLS
  position folded into ``cls_token``, ``mask_token`` dropped, SwiGLU renames).
* DINO v1 (``dino_vitbase{16,8}_pretrain.pth``): timm's ViT layout already; the same filter
  resamples the position embedding if needed. Full DINO training checkpoints
  (``{'teacher': {'backbone.*', 'head.*'}}``) are accepted too (the teacher backbone is used;
  :func:`declip_mm.checkpoint.unwrap_state_dict` opens the ``teacher`` container).
* SAM (``sam_vit_{b,l}_*.pth``): timm's ``vision_transformer_sam.checkpoint_filter_fn`` keeps
  ``image_encoder.*`` and renames ``mlp.lin`` -> ``mlp.fc``.

Each converter has timm's ``checkpoint_filter_fn(state_dict, model)`` signature.
"""
from typing import Callable, Dict

from torch import Tensor, nn

from ...utils.errors import CheckpointError

Converter = Callable[[Dict[str, Tensor], nn.Module], Dict[str, Tensor]]


def _without_backbone_prefix(sd: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """DINO training files name the teacher's ViT ``backbone.*``."""
    return {k[len('backbone.'):] if k.startswith('backbone.') else k: v for k, v in sd.items()}


def convert_dinov2(sd: Dict[str, Tensor], model: nn.Module) -> Dict[str, Tensor]:
    """Official DINOv2 (hub) keys -> timm ``VisionTransformer`` keys."""
    from timm.models.vision_transformer import checkpoint_filter_fn
    sd = _without_backbone_prefix(sd)
    if 'mask_token' not in sd:
        raise CheckpointError('not a DINOv2 checkpoint (no "mask_token" key)')
    return checkpoint_filter_fn(dict(sd), model)


def convert_dino(sd: Dict[str, Tensor], model: nn.Module) -> Dict[str, Tensor]:
    """Official DINO v1 keys -> timm ``VisionTransformer`` keys (projection head dropped)."""
    from timm.models.vision_transformer import checkpoint_filter_fn
    sd = {k: v for k, v in _without_backbone_prefix(sd).items()
          if not k.startswith(('head.', 'mask_token'))}
    return checkpoint_filter_fn(sd, model)


def convert_sam(sd: Dict[str, Tensor], model: nn.Module) -> Dict[str, Tensor]:
    """Official SAM keys (whole model) -> timm ``VisionTransformerSAM`` keys (image encoder)."""
    from timm.models.vision_transformer_sam import checkpoint_filter_fn
    if not any(k.startswith('image_encoder.') for k in sd):
        raise CheckpointError('not a SAM checkpoint (no "image_encoder." keys)')
    return checkpoint_filter_fn(sd, model)
