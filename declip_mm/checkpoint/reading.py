"""Reading checkpoint files: safely, with one line naming the file on any problem.

* :func:`read_checkpoint` opens any file declip_mm accepts (pickled state dicts and mmengine /
  DeCLIP / DINO checkpoints through :func:`safe_torch_load`; OpenAI TorchScript archives
  through ``torch.jit.load``; ``open_clip:<model>:<tag>`` through open_clip's hub) and returns
  its tensor dict (:func:`unwrap_state_dict`).
* :func:`inspect_checkpoint` opens a file without reading its tensors (``mmap``), for the
  checks the tools run before a model is built.
"""
import os.path as osp
from typing import Dict, Optional

import torch
from torch import Tensor

from ..utils.errors import CheckpointError
from ..utils.package_paths import resolve_package_path
from .safe_load import safe_torch_load

CONTAINERS = ('state_dict', 'model', 'module', 'teacher')
"""Keys of the dicts checkpoints keep their weights in: mmengine / official DeCLIP
(``state_dict``), open_clip training, DeiT / DINOv2 (``model``), DDP wrappers (``module``), and
DINO training files (``teacher``, the network DINO releases)."""


def unwrap_state_dict(obj: object, source: str = 'checkpoint') -> Dict[str, Tensor]:
    """The tensor dict inside a checkpoint object (containers opened, ``module.`` removed)."""
    while isinstance(obj, dict):
        inner = next((obj[k] for k in CONTAINERS if isinstance(obj.get(k), dict)), None)
        if inner is None:
            break
        obj = inner
    if not isinstance(obj, dict):
        raise CheckpointError(f'{source} holds a {type(obj).__name__}, not a state dict')
    return {k[len('module.'):] if k.startswith('module.') else k: v
            for k, v in obj.items() if isinstance(v, Tensor)}


def read_checkpoint(path: str) -> Dict[str, Tensor]:
    """The tensors of ``path`` (see the module docstring); ``CheckpointError`` naming it."""
    if path.startswith('open_clip:'):
        path = _open_clip_pretrained(path)
    path = resolve_package_path(path)  # declip_mm://assets/... (shipped files)
    if not osp.isfile(path):
        raise CheckpointError(f'checkpoint file not found: {path}')
    try:
        obj = safe_torch_load(path)
    except CheckpointError as err:
        obj = _torchscript_state_dict(path)
        if obj is None:
            raise err from None
    return unwrap_state_dict(obj, path)


def _torchscript_state_dict(path: str) -> Optional[Dict[str, Tensor]]:
    """The state dict of a TorchScript archive, ``None`` if ``path`` is not one."""
    try:
        return torch.jit.load(path, map_location='cpu').state_dict()
    except Exception:
        return None


def inspect_checkpoint(path: str, field: Optional[str] = None) -> dict:
    """Open ``path`` safely without reading the tensors (``mmap``); one line on any problem.

    ``field`` (e.g. ``'load_from'``) prefixes the message when the path came from the config.
    """
    path = resolve_package_path(path)  # declip_mm://assets/... (shipped files)
    if not osp.isfile(path):
        raise CheckpointError(f'{field + ": " if field else ""}checkpoint file not found: {path}')
    obj = safe_torch_load(path, mmap=True)
    if not isinstance(obj, dict):
        raise CheckpointError(f'{path} holds a {type(obj).__name__}, not a checkpoint dict')
    return obj


def _open_clip_pretrained(spec: str) -> str:
    """``open_clip:<model>:<tag>`` -> local file through open_clip's hub download (needs a hub)."""
    import open_clip
    _, model, tag = spec.split(':', 2)
    cfg = open_clip.get_pretrained_cfg(model, tag)
    if not cfg:
        raise CheckpointError(f'open_clip has no pretrained tag {tag!r} for {model!r}')
    try:
        return open_clip.download_pretrained(cfg)
    except Exception as err:  # offline hubs fail here
        raise CheckpointError(f'cannot download {spec} ({type(err).__name__}); '
                              'download it elsewhere and pass the local file') from None

