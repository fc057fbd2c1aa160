"""Train an MMDetection or MMSegmentation config that uses declip_mm.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [PATH]] [--amp] [--auto-scale-lr]
                          [--skip-bad-images] [--cfg-options k=v ...]
                          [--launcher none|pytorch|slurm|mpi]

The scope (mmdet or mmseg) comes from the config's ``default_scope``. A command line over
``declip_mm.apis.train`` (crash-safe checkpoints, ``--resume``, the work-dir lock:
docs/reliability.md).
"""
import argparse

from declip_mm.apis.cli import run_main


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


def main(argv=None) -> None:
    args = parse_args(argv)
    from declip_mm.apis import train, train_config
    cfg = train_config(args.config, args.work_dir, args.resume, args.amp, args.auto_scale_lr,
                       args.cfg_options, args.launcher)
    train(cfg, skip_bad_images=args.skip_bad_images)


if __name__ == '__main__':
    run_main(main)
