"""Let ``tools/test.py CONFIG DECLIP.pt`` load an official DeCLIP / EVA-CLIP file into a segmentor.

mmengine loads a checkpoint into the whole model (``backbone.*``, ``text_encoder.*`` ...). An
official DeCLIP file holds a bare CLIP (``visual.*`` in EVA-CLIP names, ``text.*``). The
pre-hook below rewrites such a state dict, in place and before any child loads its keys, into
the segmentor's layout with the backbone's and text encoder's own converters
(``declip_mm.checkpoint.visual_state_dict`` / ``text_state_dict``).
"""
from typing import Dict

from torch import Tensor, nn

from ...checkpoint import text_state_dict, visual_state_dict


def is_bare_clip(state_dict: Dict[str, Tensor]) -> bool:
    """A CLIP checkpoint (``visual.*``) rather than a segmentor one (``backbone.*``)."""
    keys = list(state_dict)
    return (any(k.startswith('visual.') for k in keys)
            and not any(k.startswith(('backbone.', 'decode_head.')) for k in keys))


def clip_to_segmentor(state_dict: Dict[str, Tensor], text_prefix: str = 'text_encoder.text.'
                      ) -> Dict[str, Tensor]:
    """``visual.*`` / ``text.*`` (any known CLIP layout) -> the segmentor's keys
    (``backbone.visual.*`` / ``text_encoder.text.*``)."""
    out = {'backbone.' + k: v for k, v in visual_state_dict(state_dict).items()}
    out.update({text_prefix + k: v for k, v in text_state_dict(state_dict).items()})
    return out


def _pre_hook(module: nn.Module, state_dict: Dict[str, Tensor], prefix: str, *args) -> None:
    if prefix or not is_bare_clip(state_dict):
        return
    converted = clip_to_segmentor(state_dict)
    state_dict.clear()
    state_dict.update(converted)


def accept_clip_checkpoints(module: nn.Module) -> None:
    """Make ``module`` (a segmentor root) accept bare CLIP state dicts."""
    module.register_load_state_dict_pre_hook(_pre_hook)
