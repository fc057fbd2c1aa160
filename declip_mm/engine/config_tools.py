"""Config loading shared by tools/train.py and tools/test.py (mmdet and mmseg alike)."""
import os.path as osp
from typing import Optional

from mmengine.config import Config

from ..utils.errors import ConfigError


def load_config(path: str, options: Optional[dict] = None) -> Config:
    """Read a config, apply ``--cfg-options``, and check it names a known scope."""
    if not osp.isfile(path):
        raise ConfigError(f'config file not found: {path}')
    cfg = Config.fromfile(path)
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
