"""Checkpoints on torch >= 2.6: ``weights_only`` loading with an allow-list of exactly the types
mmengine and declip_mm write.

torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine 0.10.7 writes
``HistoryBuffer`` objects and numpy arrays / scalars (its message hub) into every checkpoint, so
its own ``--resume`` / ``load_from`` / test loading fail. Importing declip_mm calls
:func:`register_checkpoint_types`, which adds those types to torch's safe globals; nothing else
is allowed, so a pickle that would run code is still refused. Two builtins appear in such
pickles and are admitted only in the one form they take there: ``getattr`` on ``HistoryBuffer``
and ``bytes()`` with no argument (how pickle writes ``b''``, the data of an empty array). mmdet / mmseg tools run with
``custom_imports=['declip_mm']`` benefit too, since they load through the same ``torch.load``.
"""
import builtins
import importlib.util
import pickle
import re
from typing import Any, List, Optional

import numpy as np
import torch

from ..utils.errors import CheckpointError
from ..utils.package_paths import resolve_package_path


def history_buffer_getattr(obj: Any, name: str) -> Any:
    """The only ``getattr`` a checkpoint may call: a ``HistoryBuffer`` statistics method.

    mmengine pickles ``HistoryBuffer._statistics_methods`` (``min``, ``max``, ``mean``,
    ``current`` and registered ones) as ``getattr(HistoryBuffer, name)``; any other receiver or
    attribute is refused, so the allow-listed name cannot reach arbitrary methods.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    if obj is not HistoryBuffer or name.startswith('_') or not callable(
            getattr(HistoryBuffer, name, None)):
        raise pickle.UnpicklingError(f'GLOBAL builtins.getattr on {obj!r}.{name} is not allowed')
    return getattr(HistoryBuffer, name)


def empty_bytes(*args: Any) -> bytes:
    """The only ``bytes`` call a checkpoint may make: ``bytes()``, i.e. ``b''``.

    Pickle protocol 2 writes an empty ``bytes`` object (the buffer of an empty numpy array, e.g.
    an empty ``HistoryBuffer``) as the call ``builtins.bytes()``. Any argument is refused, so
    the allow-listed name cannot allocate or convert anything.
    """
    if args:
        raise pickle.UnpicklingError('GLOBAL builtins.bytes called with arguments is not allowed')
    return b''


def checkpoint_types() -> List[Any]:
    """Globals that mmengine / declip_mm checkpoints legitimately contain."""
    from mmengine.logging.history_buffer import HistoryBuffer
    types: List[Any] = [HistoryBuffer, np.ndarray, np.dtype,
                        (history_buffer_getattr, 'builtins.getattr'),
                        (empty_bytes, 'builtins.bytes')]
    for mod in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        try:
            m = __import__(mod, fromlist=['_reconstruct', 'scalar'])
        except ImportError:
            continue
        types += [m._reconstruct, m.scalar]
        break
    # Files written under numpy 1.x name these functions by their old module path.
    types += [(m._reconstruct, 'numpy.core.multiarray._reconstruct'),
              (m.scalar, 'numpy.core.multiarray.scalar')]
    # numpy >= 1.25 pickles dtypes as their per-type classes (numpy.dtypes.Float64DType, ...).
    types += [getattr(np.dtypes, n) for n in dir(np.dtypes) if n.endswith('DType')]
    return types


_REGISTERED = False


def register_checkpoint_types() -> None:
    """Add :func:`checkpoint_types` to torch's ``weights_only`` allow-list (idempotent)."""
    global _REGISTERED
    if not _REGISTERED and hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals(checkpoint_types())
        _REGISTERED = True


def offending_global(err: BaseException) -> Optional[str]:
    """The real ``module.name`` (or builtin) a refused pickle asked for, else ``None``.

    Random bytes can also decode to a GLOBAL opcode; their "name" is no importable module, so
    such a file is reported as unreadable, not as one that carries code.
    """
    found = re.search(r'GLOBAL ([A-Za-z_][\w.]*)', str(err))
    if not found:
        return None
    name = found.group(1)
    if '.' not in name:  # torch names builtins without their module
        return name if hasattr(builtins, name) else None
    try:
        spec = importlib.util.find_spec(name.split('.')[0])
    except (ImportError, ValueError):
        spec = None
    return name if spec is not None else None


def refusal_message(path: str, err: BaseException) -> str:
    """One line saying why ``weights_only`` loading refused ``path`` (the offending global)."""
    what = offending_global(err) or 'an object type'
    return (f'refusing to load {path}: it contains {what}, which is not a type mmengine or '
            'declip_mm writes into checkpoints (loading it could run arbitrary code)')


def unreadable_message(path: str, err: BaseException) -> str:
    """One line for a file that is not a pickle torch can read (random bytes, text, ...)."""
    found = re.search(r'WeightsUnpickler error:\s*(\S[^\n]*)', str(err))
    lines = str(err).strip().splitlines()
    detail = found.group(1).strip() if found else (lines[0] if lines else '')
    detail = f'{type(err).__name__}: {detail}' if not found else detail
    return f'cannot read checkpoint {path}: not a torch checkpoint ({detail[:120]})'


def safe_torch_load(path: str, map_location: str = 'cpu', mmap: bool = False) -> Any:
    """``torch.load(weights_only=True)`` with declip_mm's allow-list and a one-line error.

    ``mmap=True`` maps the tensors instead of reading them (cheap inspection of big files;
    files in torch's legacy, non-zip format are read normally).
    """
    register_checkpoint_types()
    path = resolve_package_path(path)  # declip_mm://assets/... (shipped files)
    try:
        try:
            return torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
        except RuntimeError as err:
            if not mmap or 'mmap' not in str(err):
                raise
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if offending_global(err):
            raise CheckpointError(refusal_message(path, err)) from None
        raise CheckpointError(unreadable_message(path, err)) from None
    except (RuntimeError, EOFError, OSError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        if isinstance(err, EOFError):
            first = 'the file is empty or ends early (truncated)'
        raise CheckpointError(f'cannot read checkpoint {path}: {first}') from None
    except Exception as err:  # text files: the unpickler fails with IndexError, KeyError ...
        raise CheckpointError(unreadable_message(path, err)) from None
