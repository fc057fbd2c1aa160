"""Export a distilled OV-Shapes encoder as the small file the repository ships.

Reads the alpha-ensembled backbone that ``DeCLIPEnsembleCheckpointHook`` wrote
(``declip_backbone_epoch_N.pth``: ``state_dict`` of ``visual.*`` keys + ``meta``), stores its
floating tensors in fp16, and records in ``meta`` the source file and the sha256 of the tiny
CLIP it was distilled from (the main job warns when the shipped tiny CLIP has changed since).
Command line: ``tools/ovshapes/export_encoder.py``.
"""
import os

from ..checkpoint import safe_torch_load
from ..datasets.ov_shapes.arch import file_sha256
from ..engine.atomic_io import atomic_torch_save
from ..utils.errors import CheckpointError


def export_encoder(src: str, dst: str, teacher: str) -> dict:
    """fp16 copy of ``src`` at ``dst`` with ``meta.source`` / ``meta.teacher_sha256``; returns
    the ``meta`` written."""
    ckpt = safe_torch_load(src)
    if 'state_dict' not in ckpt or not any(k.startswith('visual.') for k in ckpt['state_dict']):
        raise CheckpointError(f'{src} is not a DeCLIPViT backbone file (visual.* keys)')
    ckpt['state_dict'] = {k: v.half() if v.is_floating_point() else v
                          for k, v in ckpt['state_dict'].items()}
    ckpt.setdefault('meta', {}).update(source=os.path.relpath(src),
                                       teacher_sha256=file_sha256(teacher))
    atomic_torch_save(ckpt, dst)
    return ckpt['meta']
