"""Pretrain the tiny OV-Shapes CLIP on CPU.

The command line of ``declip_mm.ovshapes.pretrain_clip`` (the recipe is described there; its
measurements are in docs/ovshapes.md).

Example::

    python tools/ovshapes/pretrain_clip.py --seed 0 --out declip_mm/assets/ovshapes/tiny_clip.pt
    python tools/ovshapes/pretrain_clip.py --world 128 \
        --init declip_mm/assets/ovshapes/tiny_clip.pt --steps 600 --lr 3e-4 --warmup 50 \
        --scenes 12000 --out declip_mm/assets/ovshapes/tiny_clip128.pt
"""
import argparse
import os

# On a shared CPU, OpenMP threads that spin while waiting burn most of the time slices (docs/ovshapes.md,
# Training). Set before torch loads.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

from declip_mm.apis.cli import run_main  # noqa: E402
from declip_mm.datasets.ov_shapes import WORLDS  # noqa: E402
from declip_mm.datasets.ov_shapes.writer import SPLITS  # noqa: E402
from declip_mm.ovshapes.pretrain_clip import PretrainClipOptions, pretrain_clip  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--world', default='64', choices=sorted(WORLDS),
                   help='the scenes to train and gate on (views are always 64 px)')
    p.add_argument('--out', default=None,
                   help="default: the world's shipped file (declip_mm/assets/ovshapes/"
                        'tiny_clip.pt, tiny_clip128.pt)')
    p.add_argument('--seed', type=int, default=0, help='torch seed (init, batches, augmentation)')
    p.add_argument('--scenes', type=int, default=SPLITS['clip'].n)
    p.add_argument('--steps', type=int, default=2000)
    p.add_argument('--batch-size', type=int, default=128)
    p.add_argument('--lr', type=float, default=1e-3)
    p.add_argument('--weight-decay', type=float, default=0.1)
    p.add_argument('--warmup', type=int, default=100)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--device', default='cpu', help="'cpu' or 'cuda' (results differ in rounding)")
    p.add_argument('--eval-scenes', type=int, default=SPLITS['test'].n,
                   help='test scenes for the crop gate at the end (0: skip it)')
    p.add_argument('--object-views', type=float, default=0.3,
                   help="fraction of views framing one object, captioned 'a <class>'")
    p.add_argument('--init', default=None, help='start from this open_clip state dict')
    p.add_argument('--no-hard-negatives', action='store_true',
                   help='plain (soft-target) InfoNCE without shape-swapped captions')
    p.add_argument('--fp32', action='store_true', help='save fp32 instead of fp16')
    p.add_argument('--log-interval', type=int, default=50)
    return p.parse_args(argv)


if __name__ == '__main__':
    run_main(lambda: pretrain_clip(PretrainClipOptions(**vars(parse_args()))))
