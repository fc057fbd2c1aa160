"""Config checks of the tools: each failure is one line naming the field.

* **Top-level keys.** mmengine silently ignores a top-level key it does not know, so a typo
  such as ``train_cfgg`` or ``val_evalutor`` leaves the inherited value in force. A key one
  edit away from a key the runner reads (two for long names) is refused; other unknown keys are
  the helper variables configs normally define (``data_root``, ``train_pipeline`` ...).
* **Data-loader keys.** ``*_dataloader`` dicts go to ``torch.utils.data.DataLoader``; a key it
  does not take is named before the DataLoader fails deep inside mmengine.
* **Dataset roots** (checked when building fails, so that datasets with their own checks keep
  their messages). ``data_root``, ``ann_file`` and the ``data_prefix`` folders of every dataset a
  command uses must exist (remote ``scheme://`` paths are not checked).
"""
import inspect
import os.path as osp
from typing import Any, Iterator, List, Optional, Tuple

from torch.utils.data import DataLoader

from ..utils.errors import ConfigError, DataError

RUNNER_KEYS = (
    'model', 'work_dir', 'train_dataloader', 'val_dataloader', 'test_dataloader', 'train_cfg',
    'val_cfg', 'test_cfg', 'auto_scale_lr', 'optim_wrapper', 'param_scheduler', 'val_evaluator',
    'test_evaluator', 'default_hooks', 'custom_hooks', 'data_preprocessor', 'load_from',
    'resume', 'launcher', 'env_cfg', 'log_processor', 'log_level', 'visualizer',
    'default_scope', 'randomness', 'experiment_name', 'runner_type', 'custom_imports',
    'model_wrapper_cfg', 'find_unused_parameters', 'sync_bn', 'compile', 'strategy',
    'tta_model', 'tta_pipeline')
"""Top-level keys mmengine's Runner (and mmdet / mmseg tools) read."""

HELPER_NAMES = frozenset({'models'})
"""Helper variables of OpenMMLab configs that happen to be one edit from a runner key."""

DATALOADER_EXTRA_KEYS = ('num_batch_per_epoch', 'disable_subprocess_warning')


def edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (adjacent transpositions count as one edit)."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1,
                          d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def likely_typo(key: str, known=RUNNER_KEYS) -> Optional[str]:
    """The runner key ``key`` is probably a misspelling of, or ``None``."""
    if key in known or key in HELPER_NAMES or key.startswith('_'):
        return None
    best = min(known, key=lambda k: edit_distance(key, k))
    dist = edit_distance(key, best)
    return best if dist <= 1 or (dist <= 2 and min(len(key), len(best)) >= 10) else None


def check_top_level_keys(cfg: Any) -> None:
    """Refuse top-level keys that look like misspelt runner keys (mmengine ignores them)."""
    for key in cfg.keys():
        near = likely_typo(key)
        if near:
            raise ConfigError(f"unknown top-level config key '{key}' (did you mean '{near}'?); "
                              'mmengine would ignore it silently')


def check_dataloader_keys(cfg: Any, names: List[str]) -> None:
    """Refuse ``*_dataloader`` keys ``torch.utils.data.DataLoader`` does not take."""
    accepted = set(inspect.signature(DataLoader.__init__).parameters) - {'self'}
    accepted |= set(DATALOADER_EXTRA_KEYS)
    for name in names:
        loader = cfg.get(name)
        if not isinstance(loader, dict):
            continue
        for key in loader:
            if key not in accepted:
                near = [k for k in accepted if edit_distance(key, k) <= 2]
                hint = f" (did you mean '{near[0]}'?)" if near else ''
                raise ConfigError(f"{name}: unknown key '{key}'{hint}")


def _datasets(node: Any, path: str) -> Iterator[Tuple[str, dict]]:
    """Dataset dicts under ``node`` (wrappers such as ConcatDataset / RepeatDataset included)."""
    if isinstance(node, dict):
        if any(k in node for k in ('data_root', 'ann_file', 'data_prefix')):
            yield path, node
        for key in ('dataset', 'datasets'):
            child = node.get(key)
            if isinstance(child, (list, tuple)):
                for i, sub in enumerate(child):
                    yield from _datasets(sub, f'{path}.{key}[{i}]')
            elif child is not None:
                yield from _datasets(child, f'{path}.{key}')


def _is_remote(path: str) -> bool:
    return '://' in path


def check_data_roots(cfg: Any, names: List[str]) -> None:
    """Each dataset of the named dataloaders: its root, annotation file and folders exist."""
    for name in names:
        loader = cfg.get(name)
        if not isinstance(loader, dict):
            continue
        for path, ds in _datasets(loader.get('dataset'), f'{name}.dataset'):
            root = ds.get('data_root') or ''
            if root and not _is_remote(root) and not osp.isdir(root):
                raise DataError(f'{path}.data_root: dataset folder {root} does not exist '
                                f'(working directory {osp.abspath(".")})')
            ann = ds.get('ann_file') or ''
            if isinstance(ann, str) and ann and not _is_remote(ann):
                full = ann if osp.isabs(ann) or not root else osp.join(root, ann)
                if not osp.exists(full):
                    raise DataError(f'{path}.ann_file: annotation file {full} does not exist')
            prefixes = ds.get('data_prefix') or {}
            for key, sub in (prefixes.items() if isinstance(prefixes, dict) else ()):
                if isinstance(sub, str) and sub and not _is_remote(sub):
                    full = sub if osp.isabs(sub) or not root else osp.join(root, sub)
                    if not osp.isdir(full):
                        raise DataError(f'{path}.data_prefix.{key}: folder {full} does not exist')


NUMBER_FIELDS = ('optim_wrapper.optimizer.lr', 'optim_wrapper.optimizer.weight_decay',
                 'optim_wrapper.optimizer.momentum', 'optim_wrapper.optimizer.eps',
                 'optim_wrapper.clip_grad.max_norm', 'auto_scale_lr.base_batch_size')
INT_FIELDS = ('train_cfg.max_iters', 'train_cfg.max_epochs', 'train_cfg.val_interval',
              'train_dataloader.batch_size', 'val_dataloader.batch_size',
              'test_dataloader.batch_size', 'train_dataloader.num_workers',
              'val_dataloader.num_workers', 'test_dataloader.num_workers')
VOCABULARY_KEYS = ('vocabulary', 'base_classes', 'test_vocabulary', 'class_names',
                   'train_class_names', 'test_class_names')
"""Model arguments holding a vocabulary: a registered name or file path, or a list of names
(an entry may itself be a list of synonyms)."""


def _get(cfg: Any, dotted: str) -> Tuple[bool, Any]:
    node = cfg
    for key in dotted.split('.'):
        try:
            node = node[key]  # a Config or a dict
        except (KeyError, TypeError, AttributeError):
            return False, None
    return True, node


def _config_name(cfg: Any) -> str:
    name = getattr(cfg, 'filename', None)
    return f'{name}: ' if name else ''


def check_field_types(cfg: Any) -> None:
    """Numbers where numbers are read (``optimizer.lr=fast`` would fail deep in torch)."""
    for fields, kinds, what in ((NUMBER_FIELDS, (int, float), 'a number'),
                                (INT_FIELDS, (int,), 'an integer')):
        for dotted in fields:
            found, value = _get(cfg, dotted)
            if found and value is not None and (isinstance(value, bool)
                                                or not isinstance(value, kinds)):
                raise ConfigError(f'{_config_name(cfg)}{dotted} must be {what}, got {value!r}')


def _vocabulary_fields(node: Any, path: str) -> Iterator[Tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            sub = f'{path}.{key}' if path else str(key)
            if key in VOCABULARY_KEYS:
                yield sub, value
            else:
                yield from _vocabulary_fields(value, sub)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _vocabulary_fields(value, f'{path}[{i}]')


def _entry_ok(entry: Any) -> bool:
    if isinstance(entry, (list, tuple)):
        return bool(entry) and all(isinstance(e, str) for e in entry)
    return isinstance(entry, str)


def check_vocabulary_fields(cfg: Any) -> None:
    """Vocabulary arguments of ``model``: a name / path string or a list of names; a ``.json``
    vocabulary file must exist and parse (its name and the parse error are reported)."""
    import json
    for path, value in _vocabulary_fields(cfg.get('model'), 'model'):
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            bad = [e for e in value if not _entry_ok(e)]
            if bad:
                raise ConfigError(f'{_config_name(cfg)}{path}: vocabulary entries must be '
                                  f'class names (strings), got {bad[0]!r}')
            continue
        if not isinstance(value, str):
            raise ConfigError(f'{_config_name(cfg)}{path} must be a class-names file, a '
                              f'registered vocabulary name or a list of names, got {value!r}')
        if value.endswith('.json') and not _is_remote(value):
            if not osp.isfile(value):
                raise ConfigError(f'{path}: vocabulary file {value} does not exist')
            try:
                with open(value, encoding='utf-8') as f:
                    json.load(f)
            except (ValueError, UnicodeDecodeError) as err:
                raise ConfigError(f'{path}: vocabulary file {value} is not valid JSON '
                                  f'({str(err).splitlines()[0]})') from None
