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


IMAGE_LOADERS = ('DeCLIPLoadImageFromFile', 'declip_mm.DeCLIPLoadImageFromFile')


def _set_on_error(node: Any, on_error: str) -> int:
    """Set ``on_error`` on every ``DeCLIPLoadImageFromFile`` dict under ``node``; count them."""
    count = 0
    if isinstance(node, dict):
        if node.get('type') in IMAGE_LOADERS:
            node['on_error'] = on_error
            count += 1
        for value in node.values():
            count += _set_on_error(value, on_error)
    elif isinstance(node, (list, tuple)):
        for value in node:
            count += _set_on_error(value, on_error)
    return count


def skip_bad_training_images(cfg: Config) -> None:
    """``--skip-bad-images``: the training pipeline's ``DeCLIPLoadImageFromFile`` skips (with a
    warning) the images it cannot decode. The config must name that loader: no type is swapped.
    """
    if not _set_on_error(cfg.get('train_dataloader'), 'skip'):
        raise ConfigError('--skip-bad-images needs dict(type="DeCLIPLoadImageFromFile") in the '
                          'train_dataloader pipeline (the stock LoadImageFromFile cannot skip)')


def check_config(cfg: Config, loaders: List[str]) -> None:
    """The pre-build checks of ``config_checks`` (keys, field types, vocabulary fields) for
    the data loaders a command uses.

    (Dataset folders are checked when building fails: see ``user_errors.user_errors``.)
    """
    from .config_checks import (check_dataloader_keys, check_field_types,
                                check_top_level_keys, check_vocabulary_fields)
    check_top_level_keys(cfg)
    check_dataloader_keys(cfg, loaders)
    check_field_types(cfg)
    check_vocabulary_fields(cfg)
