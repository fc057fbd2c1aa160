"""Write the OV-Shapes splits (images, COCO json, semantic PNGs) to ``data/ovshapes/``.

The command line of ``declip_mm.ovshapes.data.make_data``. Deterministic: scene ``i`` of a
split is made from ``(split seed, i)`` alone, so the files are the same on every run. Default
splits: ``train_base`` (16k base-only scenes, for distillation and box training) and ``test``
(1.5k scenes of all 30 classes); ``clip`` (40k, captions of all classes) is only needed to
inspect the CLIP pretraining data, which ``pretrain_clip.py`` generates in memory.

``--world 128`` draws the 128 px world (larger, textured, occluding and multi-part objects)
into its own root, ``data/ovshapes128/``.

Example::

    python tools/ovshapes/make_data.py --splits train_base test
    python tools/ovshapes/make_data.py --world 128 --splits train_base test --num 2000
"""
import argparse

from declip_mm.apis.cli import run_main


def main(argv=None) -> None:
    from declip_mm.datasets.ov_shapes.worlds import WORLDS
    from declip_mm.datasets.ov_shapes.writer import SPLITS
    from declip_mm.ovshapes.data import make_data
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--root', default=None,
                   help="output folder (default: the world's, data/ovshapes for 64, "
                        'data/ovshapes128 for 128)')
    p.add_argument('--world', default='64', choices=list(WORLDS),
                   help='scene variant: 64 (the original world) or 128 (larger, textured, '
                        'occluding, multi-part objects)')
    p.add_argument('--splits', nargs='+', default=['train_base', 'test'], choices=list(SPLITS))
    p.add_argument('--num', type=int, default=None,
                   help='scenes per split (default: the split size; a prefix of the split)')
    args = p.parse_args(argv)
    make_data(args.root, args.splits, args.num, world=args.world)


if __name__ == '__main__':
    run_main(main)
