"""Evaluate a checkpoint of an MMDetection or MMSegmentation config that uses declip_mm.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--show-dir DIR]
                         [--out FILE] [--non-strict] [--cfg-options k=v ...] [--launcher ...]

The checkpoint is loaded strictly: one that leaves model weights missing, or holds unexpected
ones, is refused with the keys named (``--non-strict`` evaluates anyway, logging them).
"""
import argparse
import os.path as osp

from _bootstrap import run_main


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='Test a declip_mm model')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where the evaluation log goes')
    parser.add_argument('--show-dir', help='write prediction pictures into this folder')
    parser.add_argument('--out', help='dump raw predictions to this pickle file')
    parser.add_argument('--non-strict', action='store_true',
                        help='evaluate even if the checkpoint does not fit the model exactly')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace):
    from declip_mm.engine.config_tools import enable_visualization, load_config
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = None  # loaded explicitly (strictly) by main()
    cfg.resume = False
    if args.show_dir:
        enable_visualization(cfg, args.show_dir)
    if args.out:
        cfg.test_evaluator = [*_as_list(cfg.test_evaluator),
                              dict(type='DumpResults', out_file_path=args.out)]
    return cfg


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def main(argv=None) -> None:
    args = parse_args(argv)
    from declip_mm.utils.errors import CheckpointError
    if not osp.isfile(args.checkpoint):
        raise CheckpointError(f'checkpoint file not found: {args.checkpoint}')
    cfg = build_config(args)
    from declip_mm.checkpoint.model_loading import load_checkpoint_strictly
    from declip_mm.checkpoint.reading import inspect_checkpoint
    from declip_mm.engine.config_tools import check_config
    from declip_mm.engine.distributed import finish_distributed, setup_cpu_distributed
    from declip_mm.engine.user_errors import user_errors
    check_config(cfg, ['test_dataloader'])
    inspect_checkpoint(args.checkpoint)  # an unreadable file: one line, before the runner's log
    setup_cpu_distributed(cfg)
    from mmengine.runner import Runner
    with user_errors(cfg, ['test_dataloader']):
        runner = Runner.from_cfg(cfg)
        load_checkpoint_strictly(runner, args.checkpoint, strict=not args.non_strict)
        runner.test()
    finish_distributed()


if __name__ == '__main__':
    run_main(main)
