"""Key table: CLIPSelf's released F-ViT detectors (mmdet 2.x) -> declip_mm's ``DeCLIPFViT``.

CLIPSelf's F-ViT checkpoints (``F-ViT/models``: ``EvaCLIPViT`` backbone, mmdet ``FPN``,
``RPNHead`` / ``CustomRPNHead``, ``FViTRoIHead`` with ``FViTBBoxHead`` and, on OV-LVIS, an
``FCNMaskHead``) hold these groups; their declip_mm places:

================================== ============================================= ==============
CLIPSelf key                       declip_mm key                                 note
================================== ============================================= ==============
``backbone.visual.<EVA-CLIP name>`` ``backbone.visual.trunk.<timm name>``         EVA renames
``backbone.interpolate1.<i>.*``    ``neck.0.adapters.0.<i>.*``                   x4 adapter
``backbone.interpolate2.0.*``      ``neck.0.adapters.1.*``                       x2 adapter
``neck.*``                         ``neck.1.*``                                  FPN
``rpn_head.*``                     ``rpn_head.*``                                same names
``roi_head.bbox_head.detect_temperature`` ``roi_head.bbox_head.temperature``
``roi_head.bbox_head.bg_embedding`` (D, 1) ``roi_head.bbox_head.bg_embedding`` (D,) ``learn_bg``
``roi_head.bbox_head.<convs/fcs>`` same                                          shared / cls / reg
``roi_head.mask_head.*``           same
================================== ============================================= ==============

Dropped, with the reason:

* ``roi_head.bbox_head.fc_cls.*``: built by mmdet's ``ConvFCBBoxHead`` but never used by
  F-ViT's forward (the region embedding is the cls FC output);
* ``roi_head.bbox_head.all_embeddings``: the class text embeddings of the training vocabulary
  (and "background"); declip_mm takes them from its vocabulary (text encoder or F-ViT's
  ``*_with_background_*.pt`` file);
* RoPE tables and other buffers the EVA tower recomputes (``rope.*``, ``k_bias``).

Anything else is refused: a checkpoint of another detector names its foreign keys.
"""
import re
from typing import Dict, List, Tuple

from torch import Tensor

from ...utils.errors import CheckpointError

RENAMES: List[Tuple[str, str]] = [
    (r'^backbone\.interpolate1\.(\d+)\.', r'neck.0.adapters.0.\1.'),
    (r'^backbone\.interpolate2\.0\.', r'neck.0.adapters.1.'),
    (r'^neck\.', r'neck.1.'),
    (r'^roi_head\.bbox_head\.detect_temperature$', r'roi_head.bbox_head.temperature'),
]
"""Regex renames of the non-EVA keys (applied in order, first match wins)."""

KEPT = re.compile(r'^(rpn_head|roi_head\.bbox_head|roi_head\.mask_head)\.')
"""Keys whose names are the same in mmdet 2 and mmdet 3."""

DROPPED = re.compile(r'^roi_head\.bbox_head\.(fc_cls\.(weight|bias)|all_embeddings)$')
"""F-ViT tensors with no declip_mm counterpart (see the module docstring)."""


def rename_key(key: str) -> str:
    """The declip_mm name of one non-backbone CLIPSelf key, or ``''`` if it is not F-ViT's."""
    for pattern, repl in RENAMES:
        if re.match(pattern, key):
            return re.sub(pattern, repl, key)
    return key if KEPT.match(key) else ''


def convert_clipself_fvit(sd: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """CLIPSelf F-ViT state dict -> ``DeCLIPFViT`` state dict.

    Args:
        sd: the ``state_dict`` of a CLIPSelf F-ViT checkpoint (mmdet 2 layout).

    Returns:
        A new dict in declip_mm's layout (tensors shared, not copied).

    Raises:
        CheckpointError: keys that are not F-ViT's (another detector, or not a detector),
            named in one line.
    """
    from . import visual_state_dict
    visual = {k: v for k, v in sd.items() if k.startswith('backbone.visual.')}
    if not visual:
        raise CheckpointError('not a CLIPSelf F-ViT checkpoint: no "backbone.visual." keys '
                              f'(first keys: {sorted(sd)[:4]})')
    out = {'backbone.' + k: v for k, v in visual_state_dict(visual).items()}
    foreign = []
    for key, value in sd.items():
        if key.startswith('backbone.visual.') or DROPPED.match(key):
            continue
        new = rename_key(key)
        if not new:
            foreign.append(key)
        elif key == 'roi_head.bbox_head.bg_embedding':
            out[new] = value.reshape(-1)  # (D, 1) column -> (D,)
        else:
            out[new] = value
    if foreign:
        more = f' (+{len(foreign) - 6} more)' if len(foreign) > 6 else ''
        raise CheckpointError(f'not a CLIPSelf F-ViT checkpoint: {len(foreign)} keys of '
                              f'another model, e.g. {", ".join(sorted(foreign)[:6])}{more}')
    return out


def check_fits(converted: Dict[str, Tensor], own: Dict[str, Tensor]) -> None:
    """Compare a converted state dict with a model's; one line naming every mismatch.

    Args:
        converted: output of :func:`convert_clipself_fvit`.
        own: ``model.state_dict()`` of the target ``DeCLIPFViT``; its ``vocabulary.*`` keys
            (a text tower, if configured) are not F-ViT's and are not compared.

    Raises:
        CheckpointError: missing / unexpected keys, or keys whose shapes differ (e.g. a
            B/16 checkpoint for an L/14 config).
    """
    from ..mismatch import check_fits as check_state_dict
    own = {k: v for k, v in own.items() if not k.startswith('vocabulary.')}
    check_state_dict(own, converted, 'CLIPSelf F-ViT checkpoint', 'this DeCLIPFViT config',
                     '(another arch or head size?)')
