"""Turn the errors a user's config, data or checkpoint cause into one line naming the culprit.

mmengine builds every component from a config dict (``build_from_cfg``); when a constructor
raises, the error surfaces from deep inside that recursion. :func:`explain` reads the chain of
components being built from the traceback (older mmengine versions also prefix the message with
``class `Name` in module/path.py:``, which is understood too), finds the config field that
describes the failing one (``model.backbone``) and returns a ``DeCLIPError`` naming it. It also
shortens PyTorch data-loader worker errors (the worker's traceback is in the message), torch's
``weights_only`` refusal (a page of advice) and ``ValueError`` checks of declip_mm itself raised
while a batch is processed (the batch's image files are named). Anything else is a bug, not a
user error, and keeps its traceback. ``DECLIP_TRACEBACK=1`` keeps every traceback.
"""
import difflib
import importlib
import inspect
import os
import os.path as osp
import pickle
import re
from contextlib import contextmanager
from typing import Any, Iterator, List, Optional, Sequence, Tuple

from ..utils.errors import CheckpointError, ConfigError, DataError, DeCLIPError

BUILD_PREFIX = re.compile(r'class `(\w+)` in ([\w./\-]+?)\.py: ')
WORKER_PREFIX = re.compile(r'^Caught \w+ in DataLoader worker process \d+\.')
PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))


def split_build_chain(message: str) -> Tuple[List[Tuple[str, str]], str]:
    """``class `A` in a/b.py: class `B` in c/d.py: msg`` -> ([(A, 'a.b'), (B, 'c.d')], msg)."""
    chain = []
    while True:
        found = BUILD_PREFIX.match(message)
        if not found:
            return chain, message
        chain.append((found.group(1), found.group(2).replace('/', '.')))
        message = message[found.end():]


def strip_worker_traceback(message: str) -> str:
    """The original error line of a data-loader worker's re-raised exception."""
    if not WORKER_PREFIX.match(message):
        return message
    last = [line for line in message.splitlines() if line.strip()][-1]
    return re.sub(r'^[\w.]+(Error|Exception): ', '', last.strip())


def _type_name(value: Any) -> Optional[str]:
    if isinstance(value, str):
        return value.split('.')[-1]
    return getattr(value, '__name__', None)


def _walk(node: Any, path: str, types: Tuple[str, ...]) -> Iterator[Tuple[str, Tuple[str, ...]]]:
    if isinstance(node, dict):
        name = _type_name(node.get('type'))
        if name:
            types = types + (name,)
            yield path, types
        for key, value in node.items():
            yield from _walk(value, f'{path}.{key}' if path else str(key), types)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _walk(value, f'{path}[{i}]', types)


def locate(cfg: Any, classes: List[str], prefer: Sequence[str] = ()) -> Optional[str]:
    """Config path of the dict that built ``classes[-1]`` inside ``classes[0]`` ... (or None).

    Where several fields match (``test_dataloader = val_dataloader``), one under a top-level key
    in ``prefer`` (the sections the running command uses) wins.
    """
    if cfg is None or not classes:
        return None
    strict, loose = [], []
    for path, types in _walk(dict(cfg), '', ()):
        if types[-1] != classes[-1]:
            continue
        rest = iter(types[:-1])
        (strict if all(any(c == t for t in rest) for c in classes[:-1]) else loose).append(path)
    for found in (strict, loose):
        preferred = [p for p in found if re.split(r'[.\[]', p)[0] in prefer]
        if preferred or found:
            return (preferred or found)[0]
    return None


def sections(data_loaders: Sequence[str]) -> List[str]:
    """Top-level config keys a command uses: its data loaders and their evaluators."""
    return [k for name in data_loaders
            for k in (name, name.replace('_dataloader', '_evaluator'))]


def _signature_keys(module: str, cls: str) -> List[str]:
    try:
        obj = getattr(importlib.import_module(module), cls)
        params = inspect.signature(obj.__init__).parameters.values()
    except Exception:
        return []
    return [p.name for p in params if p.name != 'self' and p.kind not in (p.VAR_POSITIONAL,
                                                                          p.VAR_KEYWORD)]


def _describe_build_error(chain: List[Tuple[str, str]], inner: str, cfg: Any,
                          err: Optional[BaseException] = None, prefer: Sequence[str] = ()) -> str:
    cls, module = chain[-1]
    where = locate(cfg, [c for c, _ in chain], prefer) or ' > '.join(c for c, _ in chain)
    bad = re.search(r"unexpected keyword argument '(\w+)'", inner)
    if bad:
        keys = _signature_keys(module, cls)
        near = difflib.get_close_matches(bad.group(1), keys, n=1)
        hint = f" (did you mean '{near[0]}'?)" if near else (
            f" (it accepts: {', '.join(keys)})" if keys else '')
        return f"{where}: unknown key '{bad.group(1)}' for {cls}{hint}"
    missing = re.search(r'missing \d+ required (?:positional |keyword-only )?arguments?: (.*)',
                        inner)
    if missing:
        return f'{where}: {cls} needs {missing.group(1)}'
    named_file = isinstance(err, OSError) and bool(getattr(err, 'filename', None))
    if (isinstance(err, (ValueError, DeCLIPError)) or named_file) and inner.strip():
        return f'{where} ({cls}): {inner.splitlines()[0]}{_ann_file_note(cfg, where, inner)}'
    what = f'{type(err).__name__}: {inner.splitlines()[0]}' if inner.strip() else \
        type(err).__name__
    return f'{where} ({cls}): {what} (DECLIP_TRACEBACK=1 shows where)'


def node_at(cfg: Any, path: str) -> Any:
    """The config value at ``path`` (``'test_dataloader.dataset'``, ``'a.b[0].c'``) or None."""
    node = cfg
    for key, index in re.findall(r'([^.\[\]]+)|\[(\d+)\]', path or ''):
        try:
            node = node[int(index)] if index else node[key]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _ann_file_note(cfg: Any, where: str, message: str) -> str:
    """`` (ann_file PATH)`` when the failing component reads an annotation file the message
    does not name (a JSON parse error says where in the file, not which file)."""
    node = node_at(cfg, where) if cfg is not None else None
    ann = node.get('ann_file') if isinstance(node, dict) else None
    if not isinstance(ann, str) or not ann or osp.basename(ann) in message:
        return ''
    root = node.get('data_root') or ''
    return f' (ann_file {ann if osp.isabs(ann) or not root else osp.join(root, ann)})'


def _registry_message(inner: str, chain: List[Tuple[str, str]], cfg: Any,
                      prefer: Sequence[str] = ()) -> Optional[str]:
    found = re.match(r"'?(\S+) is not in the ([\w:]+) registry", inner)
    if not found:
        return None
    name = found.group(1)
    classes = [c for c, m in chain if m] + [name.split('.')[-1]]
    where = locate(cfg, classes, prefer)
    field = f'{where}.type' if where else 'type'
    return (f"{field}: '{name}' is not a registered type in {found.group(2)} "
            '(check the spelling, and that custom_imports imports the package defining it)')


def _frames(err: BaseException) -> Iterator[Any]:
    tb = err.__traceback__
    while tb is not None:
        yield tb.tb_frame
        tb = tb.tb_next


def _last_frame_file(err: BaseException) -> str:
    frames = list(_frames(err))
    return osp.abspath(frames[-1].f_code.co_filename) if frames else ''


def batch_files(err: BaseException, limit: int = 4) -> List[str]:
    """Image paths of the data batch being processed when ``err`` was raised (if any)."""
    for frame in _frames(err):
        batch = frame.f_locals.get('data_batch')
        samples = batch.get('data_samples') if isinstance(batch, dict) else None
        if samples:
            paths = [getattr(s, 'metainfo', {}).get('img_path') for s in samples]
            return [p for p in paths if p][:limit]
    return []


def _torch_load_path(err: BaseException) -> Optional[str]:
    for frame in _frames(err):
        if frame.f_code.co_name == 'load' and 'serialization' in frame.f_code.co_filename:
            f = frame.f_locals.get('f')
            return str(f) if isinstance(f, (str, os.PathLike)) else None
    return None


def build_chain(err: BaseException) -> List[Tuple[str, str]]:
    """(class name, module) of each component mmengine was building when ``err`` was raised,
    outermost first, read from the ``build_from_cfg`` frames of the traceback. For a type
    that is not registered the last entry is the type name as written, module ``''``."""
    chain = []
    for frame in _frames(err):
        if frame.f_code.co_name != 'build_from_cfg' or 'mmengine' not in frame.f_code.co_filename:
            continue
        cls = frame.f_locals.get('obj_cls')
        if cls is not None:
            chain.append((getattr(cls, '__name__', str(cls)), getattr(cls, '__module__', '')))
        elif frame.f_locals.get('obj_type') is not None:
            chain.append((str(frame.f_locals['obj_type']), ''))
    return chain


def _is_argument_error(err: BaseException) -> bool:
    """A ``TypeError`` from binding config keys to the constructor being built (unknown or
    missing argument), as opposed to a ``TypeError`` inside it (a bug)."""
    frames = list(_frames(err))
    if frames and frames[-1].f_code.co_name == 'build_from_cfg':
        return True  # cls(**args) failed before entering __init__
    named = re.match(r'(\w+)\.__init__\(\) (got an unexpected keyword|missing \d+ required)',
                     str(err))
    built = [f.f_locals.get('obj_cls') for f in frames if f.f_code.co_name == 'build_from_cfg']
    mro = getattr(built[-1], '__mro__', ()) if built else ()
    return bool(named) and named.group(1) in [c.__name__ for c in mro]


CONFIG_ERROR_TYPES = (ValueError, AssertionError, KeyError, OSError)
"""Exceptions a constructor raises for bad arguments; others (AttributeError ...) are bugs."""


def _message(err: BaseException) -> str:
    """The error's text; an ``OSError`` as ``'No such file or directory: PATH'`` (its first
    argument alone is the errno)."""
    if isinstance(err, OSError) and err.strerror:
        return f'{err.strerror}: {err.filename}' if err.filename else err.strerror
    return str(err.args[0]) if err.args else str(err)


def explain(err: BaseException, cfg: Any = None,
            prefer: Sequence[str] = ()) -> Optional[DeCLIPError]:
    """A one-line ``DeCLIPError`` for a user error, ``None`` for anything else (a bug).

    ``prefer``: top-level config keys the running command uses (see :func:`locate`).
    """
    message = strip_worker_traceback(_message(err))
    chain, inner = split_build_chain(message)
    chain = chain or build_chain(err)
    if isinstance(err, pickle.UnpicklingError):
        from ..checkpoint.safe_load import refusal_message
        return CheckpointError(refusal_message(_torch_load_path(err) or 'a checkpoint', err))
    if isinstance(err, KeyError):
        registry = _registry_message(inner.strip('"\''), chain, cfg, prefer)
        if registry:
            return ConfigError(registry)
    first = inner.splitlines()[0] if inner.strip() else type(err).__name__
    if isinstance(err, DeCLIPError):
        where = locate(cfg, [c for c, _ in chain], prefer) if chain else None
        files = batch_files(err) if isinstance(err, DataError) and not chain else []
        if os.sep in first:
            files = []  # the message already names its file
        batch = f" (batch: {', '.join(files)})" if files else ''
        return type(err)((f'{where}: {first}' if where else first) + batch)
    if chain and (BUILD_PREFIX.match(message) or isinstance(err, CONFIG_ERROR_TYPES)
                  or (isinstance(err, TypeError) and _is_argument_error(err))):
        return ConfigError(_describe_build_error(chain, inner, cfg, err, prefer))
    if isinstance(err, ValueError) and _last_frame_file(err).startswith(PACKAGE_DIR + os.sep):
        files = batch_files(err)
        where = f" (batch: {', '.join(files)})" if files else ''
        return DataError(f'{first}{where}')
    return None


@contextmanager
def user_errors(cfg: Any = None, data_loaders: Sequence[str] = ()) -> Iterator[None]:
    """Re-raise what :func:`explain` recognises as a one-line ``DeCLIPError``.

    When something fails that is not already a ``DeCLIPError`` and a dataset folder or
    annotation file of ``data_loaders`` is missing, that is reported instead (stock mmdet /
    mmseg datasets fail on it with a bare ``FileNotFoundError`` deep in the build; declip_mm's
    datasets raise their own, more specific ``DataError``, which is kept).
    """
    try:
        yield
    except Exception as err:
        if os.environ.get('DECLIP_TRACEBACK'):
            raise
        if data_loaders and not isinstance(err, DeCLIPError):
            from .config_checks import check_data_roots
            try:
                check_data_roots(cfg, list(data_loaders))
            except DataError as missing:
                raise missing from None
        user = explain(err, cfg, sections(data_loaders))
        if user is None:
            raise
        raise user from None
