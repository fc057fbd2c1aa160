"""Config loading shared by tools/train.py and tools/test.py (mmdet and mmseg alike)."""
import os.path as osp
from typing import Any, List, Optional

from mmengine.config import Config

from ..utils.errors import ConfigError


def load_config(path: str, options: Optional[dict] = None) -> Config:
    """Read a config, apply ``--cfg-options``, and check it names a known scope."""
    if not osp.isfile(path):
        raise ConfigError(f'config file not found: {path}')
    try:
        cfg = Config.fromfile(path)
    except (SyntaxError, FileNotFoundError, KeyError, ImportError, NameError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(f'{path}: cannot read the config ({type(err).__name__}: {first})') \
            from None
    if options:
        cfg.merge_from_dict(options)
    scope = cfg.get('default_scope')
    if scope not in ('mmdet', 'mmseg', 'mmengine', None):
        raise ConfigError(f'{path}: default_scope must be mmdet or mmseg, got {scope!r}')
    return cfg


def enable_visualization(cfg: Config, show_dir: str) -> None:
    """Make the test loop draw predictions into ``show_dir`` (mmdet's and mmseg's hooks)."""
    hook = cfg.get('default_hooks', {}).get('visualization')
    if hook is None:
        raise ConfigError('--show-dir needs a "visualization" entry in default_hooks')
    hook['draw'] = True
    if cfg.get('default_scope') == 'mmdet':
        hook['test_out_dir'] = osp.abspath(show_dir)
    else:
        hook['interval'] = 1
        cfg.visualizer['save_dir'] = show_dir


STOCK_LOADERS = ('LoadImageFromFile', 'mmcv.LoadImageFromFile', 'mmdet.LoadImageFromFile',
                 'mmseg.LoadImageFromFile')


def _swap_image_loaders(node: Any, on_error: Optional[str] = None) -> int:
    """Replace stock ``LoadImageFromFile`` dicts under ``node`` in place; return how many."""
    count = 0
    if isinstance(node, dict):
        if node.get('type') in STOCK_LOADERS or node.get('type') == 'DeCLIPLoadImageFromFile':
            node['type'] = 'DeCLIPLoadImageFromFile'
            if on_error is not None:
                node['on_error'] = on_error
            count += 1
        for value in node.values():
            count += _swap_image_loaders(value, on_error)
    elif isinstance(node, (list, tuple)):
        for value in node:
            count += _swap_image_loaders(value, on_error)
    return count


def use_reliable_components(cfg: Config, train: bool, skip_bad_images: bool = False) -> None:
    """Swap in declip_mm's drop-in replacements (same arguments) for the stock components.

    * ``default_hooks.checkpoint``: ``CheckpointHook`` -> ``DeCLIPCheckpointHook`` (atomic saves,
      exact resume);
    * every ``LoadImageFromFile`` in the data loaders -> ``DeCLIPLoadImageFromFile`` (a corrupt
      image is one ``DataError`` naming it; ``skip_bad_images`` makes the *training* loader skip
      it with a warning instead);
    * training: ``DeCLIPLossSyncHook`` (logged losses averaged over processes).
    A config that names other types keeps them.
    """
    hook = cfg.get('default_hooks', {}).get('checkpoint')
    if isinstance(hook, dict) and hook.get('type') in ('CheckpointHook', 'mmengine.CheckpointHook'):
        hook['type'] = 'DeCLIPCheckpointHook'
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if isinstance(cfg.get(name), dict):
            wants_skip = skip_bad_images and name == 'train_dataloader'
            _swap_image_loaders(cfg[name], 'skip' if wants_skip else None)
    if train:
        hooks = list(cfg.get('custom_hooks') or [])
        if not any(isinstance(h, dict) and h.get('type') == 'DeCLIPLossSyncHook' for h in hooks):
            hooks.append(dict(type='DeCLIPLossSyncHook'))
        cfg.custom_hooks = hooks


def check_config(cfg: Config, loaders: List[str]) -> None:
    """The pre-build key checks of ``config_checks`` for the data loaders a command uses.

    (Dataset folders are checked when building fails: see ``user_errors.user_errors``.)
    """
    from .config_checks import check_dataloader_keys, check_top_level_keys
    check_top_level_keys(cfg)
    check_dataloader_keys(cfg, loaders)
