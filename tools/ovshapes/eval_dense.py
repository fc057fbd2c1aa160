"""Region classification and foreground mIoU of a CLIP checkpoint on the OV-Shapes test split.

The command line of ``declip_mm.ovshapes.eval_dense`` (rows and columns described there);
prints a markdown table. Example::

    python tools/ovshapes/eval_dense.py                  # shipped tiny CLIP
    python tools/ovshapes/eval_dense.py --checkpoint work_dirs/x/student.pt
"""
import argparse
import os

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # no spinning threads on a shared CPU

from declip_mm.apis.cli import run_main  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    from declip_mm.datasets.ov_shapes.arch import TINY_CLIP_CHECKPOINT
    from declip_mm.datasets.ov_shapes.writer import SPLITS
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--checkpoint', default=TINY_CLIP_CHECKPOINT,
                   help='image-tower checkpoint (any layout DeCLIPViT loads)')
    p.add_argument('--text-checkpoint', default=TINY_CLIP_CHECKPOINT,
                   help='text-tower checkpoint (default: the shipped tiny CLIP, whose frozen '
                        'text tower distilled students share)')
    p.add_argument('--modes', nargs='+', default=['vanilla', 'maskclip', 'csa'])
    p.add_argument('--no-crop', action='store_true', help='skip the crop row')
    p.add_argument('--scenes', type=int, default=SPLITS['test'].n)
    p.add_argument('--threads', type=int, default=2)
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    from declip_mm.ovshapes.eval_dense import eval_dense
    print(eval_dense(args.checkpoint, args.text_checkpoint, args.modes, not args.no_crop,
                     args.scenes, args.threads))


if __name__ == '__main__':
    run_main(main)
