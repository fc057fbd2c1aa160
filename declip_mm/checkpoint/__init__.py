"""Checkpoint I/O of declip_mm, done once.

* :mod:`.safe_load`: ``weights_only`` reading with the allow-list of what mmengine and declip_mm
  write (registered at ``import declip_mm``);
* :mod:`.reading`: reading any accepted file and the one unwrap of checkpoint containers;
* :mod:`.layouts`: one key-conversion table per source format;
* :mod:`.mismatch`: the one strict loader and its one-line mismatch report;
* :mod:`.towers`: image tower, text tower and VFM teacher loaders (``init_cfg``, see
  :mod:`.init_cfg` for the dict / list / ``prefix`` forms);
* :mod:`.model_loading`: whole-model loading for ``tools/test.py``, ``load_from``, ``--resume``
  and the demo;
* :mod:`.export`: writing encoders in open_clip's or the official EVA-CLIP / DeCLIP layout.

Writers go through :mod:`declip_mm.engine.atomic_io` (``atomic_torch_save``).
"""
from .init_cfg import init_with_pretrained, pretrained_checkpoint, split_init_cfg
from .layouts import text_state_dict, visual_state_dict
from .mismatch import (check_fits, format_mismatch, load_strictly, mismatch_error,
                       mismatch_summary, shape_mismatches)
from .reading import inspect_checkpoint, read_checkpoint, unwrap_state_dict
from .safe_load import register_checkpoint_types, safe_torch_load
from .towers import load_backbone_checkpoint, load_text_checkpoint, load_vfm_checkpoint

__all__ = [
    'safe_torch_load', 'register_checkpoint_types', 'read_checkpoint', 'inspect_checkpoint',
    'unwrap_state_dict', 'visual_state_dict', 'text_state_dict', 'check_fits', 'load_strictly',
    'format_mismatch', 'mismatch_summary', 'mismatch_error', 'shape_mismatches',
    'load_backbone_checkpoint', 'load_text_checkpoint', 'load_vfm_checkpoint',
    'init_with_pretrained', 'pretrained_checkpoint', 'split_init_cfg',
]
