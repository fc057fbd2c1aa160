"""Pretrain the OV-Shapes stand-in vision foundation model (the distillation's context teacher).

The command line of ``declip_mm.ovshapes.pretrain_vfm`` (the recipe is documented there).

Example::

    python tools/ovshapes/pretrain_vfm.py --out work_dirs/ovshapes/tiny_vfm.pt
"""
import argparse
import os

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # no spinning threads on a shared CPU

from declip_mm.apis.cli import run_main  # noqa: E402
from declip_mm.ovshapes.pretrain_vfm import PretrainVfmOptions, pretrain_vfm  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', default='work_dirs/ovshapes/tiny_vfm.pt',
                   help='output (the shipped file: declip_mm/assets/ovshapes/tiny_vfm.pt)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--scenes', type=int, default=20000)
    p.add_argument('--steps', type=int, default=2000)
    p.add_argument('--batch-size', type=int, default=128)
    p.add_argument('--lr', type=float, default=1e-3)
    p.add_argument('--mask-ratio', type=float, default=0.5)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--device', default='cpu')
    return p.parse_args(argv)


if __name__ == '__main__':
    run_main(lambda: pretrain_vfm(PretrainVfmOptions(**vars(parse_args()))))
