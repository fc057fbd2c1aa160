"""Write the OV-Shapes splits (images, COCO json, semantic PNGs) to ``data/ovshapes/``.

The command line of ``declip_mm.ovshapes.data.make_data``. Deterministic: scene ``i`` of a
split is made from ``(split seed, i)`` alone, so the files are the same on every run. Default
splits: ``train_base`` (16k base-only scenes, for distillation and box training) and ``test``
(1.5k scenes of all 30 classes); ``clip`` (40k, captions of all classes) is only needed to
inspect the CLIP pretraining data, which ``pretrain_clip.py`` generates in memory.

Example::

    python tools/ovshapes/make_data.py --splits train_base test
"""
import argparse

from declip_mm.apis.cli import run_main


def main(argv=None) -> None:
    from declip_mm.datasets.ov_shapes.writer import SPLITS
    from declip_mm.ovshapes.data import make_data
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--root', default='data/ovshapes', help='output folder')
    p.add_argument('--splits', nargs='+', default=['train_base', 'test'], choices=list(SPLITS))
    p.add_argument('--num', type=int, default=None,
                   help='scenes per split (default: the split size; a prefix of the split)')
    args = p.parse_args(argv)
    make_data(args.root, args.splits, args.num)


if __name__ == '__main__':
    run_main(main)
