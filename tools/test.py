"""Evaluate a checkpoint of an MMDetection or MMSegmentation config that uses declip_mm.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--show-dir DIR] [--show]
                         [--wait-time S] [--tta] [--out FILE] [--non-strict]
                         [--cfg-options k=v ...] [--launcher ...]

``--show``, ``--wait-time`` and ``--tta`` behave as in mmdet's / mmseg's ``tools/test.py``
(for mmdet configs without ``tta_model`` / ``tta_pipeline``, mmdet's flip defaults are used).
A command line over ``declip_mm.apis.test``: the checkpoint is loaded strictly (a file that
leaves model weights missing, or holds unexpected ones, is refused with the keys named;
``--non-strict`` evaluates anyway, logging them).
"""
import argparse

from declip_mm.apis.cli import run_main


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='Test a declip_mm model')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where the evaluation log goes')
    parser.add_argument('--show-dir', help='write prediction pictures into this folder')
    parser.add_argument('--show', action='store_true', help='show the predictions in a window')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='seconds each picture of --show stays on screen')
    parser.add_argument('--tta', action='store_true', help='test-time augmentation')
    parser.add_argument('--out', help='dump raw predictions to this pickle file')
    parser.add_argument('--non-strict', action='store_true',
                        help='evaluate even if the checkpoint does not fit the model exactly')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    from declip_mm.apis.evaluate import require_file, test, test_config
    require_file(args.checkpoint)
    cfg = test_config(args.config, args.work_dir, args.show_dir, args.show, args.wait_time,
                      args.tta, args.out, args.cfg_options, args.launcher)
    test(cfg, args.checkpoint, strict=not args.non_strict)


if __name__ == '__main__':
    run_main(main)
