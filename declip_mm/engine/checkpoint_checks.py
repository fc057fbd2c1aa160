"""Checkpoint checks run by the tools: a bad checkpoint is one line, before any weight is copied.

* Every checkpoint a tool is given is first opened with ``weights_only`` and the allow-list,
  tensors memory-mapped rather than read (so this costs little even for large files): a missing,
  truncated or code-carrying file is refused naming it.
* ``--resume`` needs a training checkpoint (``meta``, ``message_hub``) of exactly this model.
* ``tools/test.py`` loads strictly: a checkpoint that leaves weights missing, or carries
  unexpected ones, would give a silently wrong evaluation, so it is refused with the keys listed
  (the model's own load hooks, which rename official DeCLIP / EVA-CLIP layouts, run first).
"""
import os.path as osp
import re
from typing import Any, Optional

from mmengine.model import is_model_wrapper

from ..utils.errors import CheckpointError


def inspect_checkpoint(path: str, field: Optional[str] = None) -> dict:
    """Open ``path`` safely without reading the tensors (``mmap``); one line on any problem.

    ``field`` (e.g. ``'load_from'``) prefixes the message when the path came from the config.
    """
    from ..utils.safe_load import safe_torch_load
    if not osp.isfile(path):
        raise CheckpointError(f'{field + ": " if field else ""}checkpoint file not found: {path}')
    obj = safe_torch_load(path, mmap=True)
    if not isinstance(obj, dict):
        raise CheckpointError(f'{path} holds a {type(obj).__name__}, not a checkpoint dict')
    return obj


def _state_dict_of(obj: dict) -> dict:
    sd = obj.get('state_dict', obj)
    return {k[len('module.'):] if k.startswith('module.') else k: v for k, v in sd.items()}


def mismatch_summary(own: dict, theirs: dict, limit: int = 5) -> Optional[str]:
    """``missing ...; unexpected ...; wrong shape ...`` between two state dicts, or ``None``."""
    missing = sorted(set(own) - set(theirs))
    unexpected = sorted(set(theirs) - set(own))
    shapes = [f'{k} {tuple(theirs[k].shape)} vs {tuple(own[k].shape)}' for k in sorted(own)
              if k in theirs and hasattr(theirs[k], 'shape') and theirs[k].shape != own[k].shape]
    parts = []
    for what, keys in (('missing', missing), ('unexpected', unexpected), ('wrong shape', shapes)):
        if keys:
            more = f' (+{len(keys) - limit} more)' if len(keys) > limit else ''
            parts.append(f'{len(keys)} {what}: ' + ', '.join(keys[:limit]) + more)
    return '; '.join(parts) or None


def check_resume_checkpoint(model: Any, path: str) -> None:
    """``path`` is a training checkpoint of exactly this model (keys and shapes)."""
    obj = inspect_checkpoint(path, '--resume')
    if not isinstance(obj.get('meta'), dict) or 'message_hub' not in obj or \
            'state_dict' not in obj:
        raise CheckpointError(f'{path} is not a training checkpoint (no meta / message_hub / '
                              'state_dict); give weights-only files as load_from, not --resume')
    module = model.module if is_model_wrapper(model) else model
    problem = mismatch_summary(module.state_dict(), _state_dict_of(obj))
    if problem:
        raise CheckpointError(f'{path} does not fit this {type(module).__name__}: {problem}')


def summarize_mmengine_mismatch(message: str, limit: int = 5) -> str:
    """One line from mmengine's multi-line ``load_state_dict`` error (missing / unexpected)."""
    parts = []
    for label, pattern in (('unexpected', r'unexpected key in source state_dict: (.*)'),
                           ('missing', r'missing keys in source state_dict: (.*)')):
        found = re.search(pattern, message)
        if found:
            keys = [k.strip() for k in found.group(1).split(',') if k.strip()]
            more = f' (+{len(keys) - limit} more)' if len(keys) > limit else ''
            parts.append(f'{len(keys)} {label}: ' + ', '.join(keys[:limit]) + more)
    shapes = re.findall(r'size mismatch for ([\w.]+)', message)
    if shapes:
        parts.append(f'{len(shapes)} wrong shape: ' + ', '.join(shapes[:limit]))
    return '; '.join(parts) or message.strip().splitlines()[-1]


def load_checkpoint_strictly(runner: Any, path: str, strict: bool = True) -> None:
    """Load ``path`` into ``runner``'s model for evaluation; a mismatch is one ``CheckpointError``.

    ``strict=False`` keeps mmengine's behaviour (the mismatch is only logged).
    """
    inspect_checkpoint(path)
    try:
        runner.load_checkpoint(path, map_location='cpu', strict=strict)
    except RuntimeError as err:
        if 'do not match exactly' not in str(err):
            raise
        module = runner.model.module if is_model_wrapper(runner.model) else runner.model
        raise CheckpointError(f'{path} does not fit this {type(module).__name__}: '
                              f'{summarize_mmengine_mismatch(str(err))} '
                              '(--non-strict evaluates anyway)') from None
