"""The context sweep on OV-Shapes: context teacher x weight x seed (declip_mm.ovshapes.context_sweep).

    python tools/ovshapes/make_data.py --splits train_base --num 2000
    python tools/ovshapes/context_sweep.py --teachers none gt --weights 0.05 0.1 0.25 --seeds 0
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

from declip_mm.ovshapes.context_sweep import TEACHERS, markdown, run_sweep  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--teachers', nargs='+', default=['none', 'gt', 'simmim'],
                   choices=list(TEACHERS))
    p.add_argument('--weights', type=float, nargs='+', default=[0.05, 0.1, 0.25])
    p.add_argument('--seeds', type=int, nargs='+', default=[0])
    p.add_argument('--out', default='outputs/ovshapes_context')
    p.add_argument('--data-root', default='data/ovshapes')
    p.add_argument('--eval-scenes', type=int, default=1500)
    p.add_argument('--distill-scenes', type=int, default=2000)
    p.add_argument('--epochs', type=int, default=4, help='epochs of batch 16')
    p.add_argument('--lr', type=float, default=3e-4)
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    res = run_sweep(args.teachers, args.weights, args.seeds, args.out, args.data_root,
                    args.eval_scenes, args.distill_scenes, args.epochs, args.lr)
    print(markdown(res))


if __name__ == '__main__':
    main()
