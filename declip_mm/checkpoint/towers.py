"""Loading one tower from a file: the DeCLIP image tower, the CLIP text tower, a VFM teacher.

Each reads the file with :func:`read_checkpoint`, converts it with the tables of
:mod:`.layouts` and loads it with :func:`load_strictly` (one line on any mismatch).
``prefix`` is mmengine's ``Pretrained(prefix=...)``: only keys under it are used, without it.
"""
from typing import Dict

import torch
from torch import Tensor, nn

from ..utils.errors import CheckpointError
from .layouts import strip_prefix, text_state_dict, visual_state_dict
from .layouts.vfm import Converter
from .mismatch import load_strictly
from .reading import read_checkpoint


def load_backbone_checkpoint(model: nn.Module, path: str, prefix: str = '') -> None:
    """Load ``path`` into a ``DeCLIPViT`` strictly; one clear error on any mismatch."""
    sd = visual_state_dict(strip_prefix(read_checkpoint(path), prefix))
    if not sd:
        raise CheckpointError(f'{path}: no image-tower weights found (expected keys under '
                              '"visual." in the open_clip, EVA-CLIP or declip_mm layout'
                              + (f', under prefix {prefix!r})' if prefix else ')'))
    adopt_pos_embed_shape(model, sd)
    load_strictly(model, sd, path, f'DeCLIPViT({arch_name(model)})')


def load_text_checkpoint(text: nn.Module, path: str, prefix: str = '') -> None:
    """Strictly load an open_clip ``TextTransformer`` (keys and shapes); one line on mismatch."""
    sd = text_state_dict(strip_prefix(read_checkpoint(path), prefix))
    width = getattr(text, 'width', None)
    layers = len(getattr(getattr(text, 'transformer', None), 'resblocks', []))
    load_strictly(text, sd, path, f'the text tower (width={width}, layers={layers})')


def load_vfm_checkpoint(model: nn.Module, path: str, convert: Converter) -> None:
    """Read ``path``, convert it with ``convert`` (a :mod:`.layouts.vfm` table) and load it
    strictly into ``model``."""
    try:
        sd = convert(read_checkpoint(path), model)
    except CheckpointError as err:
        raise CheckpointError(f'{path}: {err}') from None
    load_strictly(model, sd, path, f'the VFM {type(model).__name__}')


def adopt_pos_embed_shape(model: nn.Module, sd: Dict[str, Tensor]) -> None:
    """Take a checkpoint's position-embedding grid (it is resampled per forward anyway)."""
    for name, param in model.named_parameters():
        if ('pos_embed' in name or 'positional_embedding' in name) and name in sd:
            if sd[name].shape != param.shape and sd[name].shape[-1] == param.shape[-1]:
                param.data = torch.empty_like(sd[name])


def arch_name(model: nn.Module) -> str:
    """``'width=W, layers=L, patch=P'`` of a ``DeCLIPViT``'s arch (for messages)."""
    v = getattr(model, 'arch_cfg', {}).get('vision_cfg', {})
    return f"width={v.get('width')}, layers={v.get('layers')}, patch={v.get('patch_size')}"
