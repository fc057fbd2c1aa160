"""Write the OV-Shapes splits (images, COCO json, semantic PNGs) to ``data/ovshapes/``.

Deterministic: scene ``i`` of a split is made from ``(split seed, i)`` alone, so the files are
the same on every run. Default splits: ``train_base`` (16k base-only scenes, for distillation
and box training) and ``test`` (1.5k scenes of all 30 classes); ``clip`` (40k, captions of all
classes) is only needed to inspect the CLIP pretraining data, which ``pretrain_clip.py``
generates in memory.

Example::

    PYTHONPATH=. python tools/ovshapes/make_data.py --splits train_base test
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from declip_mm.datasets.ov_shapes.writer import SPLITS, write_split  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--root', default='data/ovshapes', help='output folder')
    p.add_argument('--splits', nargs='+', default=['train_base', 'test'], choices=list(SPLITS))
    p.add_argument('--num', type=int, default=None,
                   help='scenes per split (default: the split size; a prefix of the split)')
    return p.parse_args(argv)


def main(argv=None) -> None:
    from tqdm import tqdm
    args = parse_args(argv)
    for name in args.splits:
        spec = SPLITS[name]
        n = spec.n if args.num is None else min(args.num, spec.n)
        t0 = time.time()
        path = write_split(os.path.join(args.root, name), n, spec.seed, spec.base_only,
                           wrap=lambda it, name=name, n=n: tqdm(it, total=n, desc=name))
        print(f'{name}: {n} scenes (seed {spec.seed}, base_only={spec.base_only}) -> {path} '
              f'in {time.time() - t0:.0f}s')


if __name__ == '__main__':
    main()
