"""Train an MMDetection or MMSegmentation config that uses declip_mm.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [PATH]] [--amp] [--auto-scale-lr]
                          [--skip-bad-images] [--cfg-options k=v ...]
                          [--launcher none|pytorch|slurm|mpi]

The scope (mmdet or mmseg) comes from the config's ``default_scope``. With the configs'
``DeCLIPCheckpointHook`` (named in configs/_base_/) checkpoints are written atomically and hold
the random generators' state, so after a crash the same command with ``--resume`` continues
exactly where the last checkpoint left off; the work dir is locked while training runs
(docs/reliability.md).
"""
import argparse
import os.path as osp

from _bootstrap import run_main


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='Train a declip_mm model')
    parser.add_argument('config', help='config file')
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from PATH, or from the latest checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by the real batch size over the config\'s '
                             'auto_scale_lr.base_batch_size (as mmdet\'s tools/train.py)')
    parser.add_argument('--skip-bad-images', action='store_true',
                        help='skip unreadable training images with a warning instead of stopping')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. train_cfg.max_epochs=1')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace):
    from declip_mm.engine.config_tools import load_config
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.auto_scale_lr:
        enable_auto_scale_lr(cfg)
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    return cfg


def enable_auto_scale_lr(cfg) -> None:
    """``--auto-scale-lr``: mmengine's Runner multiplies the learning rate by
    (processes x batch size) / ``auto_scale_lr.base_batch_size``."""
    from declip_mm.utils.errors import ConfigError
    scale = cfg.get('auto_scale_lr')
    if not isinstance(scale, dict) or 'base_batch_size' not in scale:
        raise ConfigError('--auto-scale-lr needs auto_scale_lr = dict(enable=False, '
                          'base_batch_size=N) in the config (N: the batch size its lr is for)')
    scale['enable'] = True


def used_loaders(cfg) -> list:
    """The data loaders training builds: train, and val when validation is configured."""
    val = all(cfg.get(k) for k in ('val_dataloader', 'val_cfg', 'val_evaluator'))
    return ['train_dataloader'] + (['val_dataloader'] if val else [])


def resume_path(cfg):
    """The checkpoint ``--resume`` will use (``None``: auto-resume found none, start afresh);
    ``last_checkpoint`` is read relative to the work dir."""
    from declip_mm.engine.work_dir import latest_checkpoint
    if not cfg.get('resume'):
        return None
    return cfg.get('load_from') or latest_checkpoint(cfg.work_dir)


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = build_config(args)
    from declip_mm.checkpoint.model_loading import check_load_from, check_resume_checkpoint
    from declip_mm.checkpoint.reading import inspect_checkpoint
    from declip_mm.engine.config_tools import check_config, skip_bad_training_images
    from declip_mm.engine.distributed import finish_distributed, is_launcher_main, \
        setup_cpu_distributed
    from declip_mm.engine.user_errors import user_errors
    from declip_mm.engine.work_dir import claim_work_dir
    check_config(cfg, used_loaders(cfg))
    if args.skip_bad_images:
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
    from mmengine.runner import Runner
    with user_errors(cfg, used_loaders(cfg)):
        runner = Runner.from_cfg(cfg)
        if path is not None:
            check_resume_checkpoint(runner.model, path)
        elif cfg.get('load_from'):
            check_load_from(runner.model, cfg.load_from)
        runner.train()
    finish_distributed()


if __name__ == '__main__':
    run_main(main)
