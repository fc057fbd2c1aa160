"""Training entry point: a config file in, a trained model and its last checkpoint out.

``tools/train.py`` is a command line over :func:`train_config` and :func:`train`; the OV-Shapes
jobs call them in-process. With the configs' ``DeCLIPCheckpointHook`` checkpoints are written
atomically and hold the random generators' state, so after a crash ``resume='auto'`` continues
exactly where the last checkpoint left off; the work dir is locked while training runs
(docs/reliability.md).
"""
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Sequence

from mmengine.config import Config
from torch import nn


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        model: the trained model (``runner.train()``'s return value).
        work_dir: the run's work dir.
        checkpoint: the checkpoint ``work_dir/last_checkpoint`` names (``None`` if none saved).
    """
    model: nn.Module
    work_dir: str
    checkpoint: Optional[str]


def default_work_dir(config: str) -> str:
    """``./work_dirs/<config name>``, as mmdet's and mmseg's tools choose."""
    return osp.join('./work_dirs', osp.splitext(osp.basename(config))[0])


def train_config(config: str, work_dir: Optional[str] = None, resume: Optional[str] = None,
                 amp: bool = False, auto_scale_lr: bool = False,
                 cfg_options: Optional[dict] = None, launcher: str = 'none') -> Config:
    """Load ``config`` for training, with the command line's overrides applied.

    Args:
        config: config file.
        work_dir: where logs and checkpoints go (default: the config's, else
            ``./work_dirs/<config name>``).
        resume: ``'auto'`` (the latest checkpoint of the work dir), a checkpoint path, or None.
        amp: automatic mixed precision (``AmpOptimWrapper``, dynamic loss scale).
        auto_scale_lr: scale the learning rate by the real batch size (see
            :func:`enable_auto_scale_lr`).
        cfg_options: ``{dotted key: value}`` overrides (``--cfg-options``).
        launcher: ``none``, ``pytorch``, ``slurm`` or ``mpi``.
    """
    from ..engine.config_tools import load_config
    cfg = load_config(config, cfg_options)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = default_work_dir(config)
    if amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if auto_scale_lr:
        enable_auto_scale_lr(cfg)
    if resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif resume is not None:
        cfg.resume, cfg.load_from = True, resume
    return cfg


def enable_auto_scale_lr(cfg: Config) -> None:
    """mmengine's Runner multiplies the learning rate by (processes x batch size) /
    ``auto_scale_lr.base_batch_size``."""
    from ..utils.errors import ConfigError
    scale = cfg.get('auto_scale_lr')
    if not isinstance(scale, dict) or 'base_batch_size' not in scale:
        raise ConfigError('--auto-scale-lr needs auto_scale_lr = dict(enable=False, '
                          'base_batch_size=N) in the config (N: the batch size its lr is for)')
    scale['enable'] = True


def used_loaders(cfg: Config) -> List[str]:
    """The data loaders training builds: train, and val when validation is configured."""
    val = all(cfg.get(k) for k in ('val_dataloader', 'val_cfg', 'val_evaluator'))
    return ['train_dataloader'] + (['val_dataloader'] if val else [])


def resume_path(cfg: Config) -> Optional[str]:
    """The checkpoint resuming will use (``None``: auto-resume found none, start afresh);
    ``last_checkpoint`` is read relative to the work dir."""
    from ..engine.work_dir import latest_checkpoint
    if not cfg.get('resume'):
        return None
    return cfg.get('load_from') or latest_checkpoint(cfg.work_dir)


def train(cfg: Config, skip_bad_images: bool = False, hooks: Sequence = ()) -> TrainResult:
    """Check ``cfg``, build mmengine's ``Runner`` and train.

    Args:
        cfg: a config from :func:`train_config`.
        skip_bad_images: skip unreadable training images with a warning instead of stopping.
        hooks: extra ``mmengine.hooks.Hook`` instances registered on the runner (e.g. a
            progress display).

    Returns:
        the trained model, the work dir and the last checkpoint (``last_checkpoint``).
    """
    from mmengine.runner import Runner

    from ..checkpoint.model_loading import check_load_from, check_resume_checkpoint
    from ..checkpoint.reading import inspect_checkpoint
    from ..engine.config_tools import check_config, skip_bad_training_images
    from ..engine.distributed import finish_distributed, is_launcher_main, setup_cpu_distributed
    from ..engine.user_errors import user_errors
    from ..engine.work_dir import claim_work_dir, latest_checkpoint
    check_config(cfg, used_loaders(cfg))
    if skip_bad_images:
        skip_bad_training_images(cfg)
    path = resume_path(cfg)
    if path is not None:
        cfg.load_from = path  # resolved against the work dir, not the current directory
        inspect_checkpoint(path, '--resume')  # an unreadable file: one line, before the log
    elif cfg.get('load_from'):
        inspect_checkpoint(cfg.load_from, 'load_from')
    if is_launcher_main():  # lock the work dir, then free the space interrupted saves hold
        for note in claim_work_dir(cfg.work_dir):
            print(note, flush=True)
    setup_cpu_distributed(cfg)
    with user_errors(cfg, used_loaders(cfg)):
        runner = Runner.from_cfg(cfg)
        for hook in hooks:
            runner.register_hook(hook)
        if path is not None:
            check_resume_checkpoint(runner.model, path)
        elif cfg.get('load_from'):
            check_load_from(runner.model, cfg.load_from)
        model = runner.train()
    finish_distributed()
    return TrainResult(model, runner.work_dir, latest_checkpoint(runner.work_dir))
