"""Load vision-foundation-model weights from local files in their official formats into timm models.

* DINOv2 (torch.hub ``dinov2_vit{b,l}14[_reg4]_pretrain.pth``): converted by timm's own
  ``vision_transformer.checkpoint_filter_fn`` (``register_tokens`` -> ``reg_token``, the CLS
  position folded into ``cls_token``, ``mask_token`` dropped, SwiGLU renames).
* DINO v1 (``dino_vitbase{16,8}_pretrain.pth``): timm's ViT layout already; the same filter
  resamples the position embedding if needed. Full DINO training checkpoints
  (``{'teacher': {'backbone.*', 'head.*'}}``) are accepted too (the teacher backbone is used).
* SAM (``sam_vit_{b,l}_*.pth``): timm's ``vision_transformer_sam.checkpoint_filter_fn`` keeps
  ``image_encoder.*`` and renames ``mlp.lin`` -> ``mlp.fc``.

Files are read with ``safe_torch_load`` (``weights_only``); any missing / unexpected key or
shape mismatch raises one ``CheckpointError``.
"""
from typing import Callable, Dict

from torch import Tensor, nn

from ...utils.errors import CheckpointError
from ...utils.safe_load import safe_torch_load

Converter = Callable[[Dict[str, Tensor], nn.Module], Dict[str, Tensor]]


def unwrap_vfm_state_dict(obj: object) -> Dict[str, Tensor]:
    """The tensor dict of a VFM checkpoint (``model`` / ``state_dict`` / DINO ``teacher``)."""
    for key in ('teacher', 'model', 'state_dict'):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict):
        raise CheckpointError(f'VFM checkpoint holds a {type(obj).__name__}, not a state dict')
    out = {}
    for k, v in obj.items():
        if not isinstance(v, Tensor):
            continue
        for prefix in ('module.', 'backbone.'):
            if k.startswith(prefix):
                k = k[len(prefix):]
        out[k] = v
    return out


def convert_dinov2(sd: Dict[str, Tensor], model: nn.Module) -> Dict[str, Tensor]:
    """Official DINOv2 (hub) keys -> timm ``VisionTransformer`` keys."""
    from timm.models.vision_transformer import checkpoint_filter_fn
    if 'mask_token' not in sd:
        raise CheckpointError('not a DINOv2 checkpoint (no "mask_token" key)')
    return checkpoint_filter_fn(dict(sd), model)


def convert_dino(sd: Dict[str, Tensor], model: nn.Module) -> Dict[str, Tensor]:
    """Official DINO v1 keys -> timm ``VisionTransformer`` keys (projection head dropped)."""
    from timm.models.vision_transformer import checkpoint_filter_fn
    sd = {k: v for k, v in sd.items() if not k.startswith(('head.', 'mask_token'))}
    return checkpoint_filter_fn(sd, model)


def convert_sam(sd: Dict[str, Tensor], model: nn.Module) -> Dict[str, Tensor]:
    """Official SAM keys (whole model) -> timm ``VisionTransformerSAM`` keys (image encoder)."""
    from timm.models.vision_transformer_sam import checkpoint_filter_fn
    if not any(k.startswith('image_encoder.') for k in sd):
        raise CheckpointError('not a SAM checkpoint (no "image_encoder." keys)')
    return checkpoint_filter_fn(sd, model)


def load_vfm_checkpoint(model: nn.Module, path: str, convert: Converter) -> None:
    """Read ``path``, convert it with ``convert`` and load it strictly into ``model``."""
    try:
        sd = convert(unwrap_vfm_state_dict(safe_torch_load(path)), model)
    except CheckpointError as err:
        raise CheckpointError(f'{path}: {err}') from None
    own = model.state_dict()
    missing = sorted(set(own) - set(sd))
    unexpected = sorted(set(sd) - set(own))
    shapes = [f'{k} {tuple(v.shape)} vs {tuple(own[k].shape)}' for k, v in sd.items()
              if k in own and own[k].shape != v.shape]
    if missing or unexpected or shapes:
        def show(name, items):
            more = ', ...' if len(items) > 6 else ''
            return f'{len(items)} {name} ({", ".join(items[:6])}{more})'
        raise CheckpointError(f'{path} does not fit the VFM {type(model).__name__}: '
                              f'{show("missing", missing)}; {show("unexpected", unexpected)}; '
                              f'{show("wrong shape", shapes)}')
    model.load_state_dict(sd, strict=True)
