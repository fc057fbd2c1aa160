"""The context sweep on OV-Shapes: context teacher x weight x seed.

The command line of ``declip_mm.ovshapes.context_sweep.run_sweep``. Relative paths are read
from the repository root. Writes ``<out>/sweep.json`` and ``<out>/sweep.md``.

    python tools/ovshapes/context_sweep.py --teachers none gt --weights 0.05 0.1 0.25 --seeds 0
    python tools/ovshapes/context_sweep.py --world 128 --teachers none gt --weights 0.25 \
        --out outputs/ovshapes_context128
    python tools/ovshapes/context_sweep.py --merge outputs/part_a outputs/part_b \
        --out outputs/ovshapes_context128

``--merge`` trains nothing: it joins the ``sweep.json`` of sweeps run as separate processes
(and the one already in ``--out``, if any) into ``--out``.
"""
import argparse
import os

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # no spinning threads on a shared CPU

from declip_mm.apis.cli import run_main  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_args(argv=None) -> argparse.Namespace:
    from declip_mm.datasets.ov_shapes import WORLDS
    from declip_mm.ovshapes.context_sweep import TEACHERS
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--teachers', nargs='+', default=['none', 'gt', 'simmim'],
                   choices=list(TEACHERS))
    p.add_argument('--weights', type=float, nargs='+', default=[0.05, 0.1, 0.25])
    p.add_argument('--seeds', type=int, nargs='+', default=[0])
    p.add_argument('--out', default='outputs/ovshapes_context')
    p.add_argument('--world', default='64', choices=sorted(WORLDS),
                   help='the scenes and configs: the 64 px world or the 128 px one')
    p.add_argument('--data-root', default=None, help="default: the world's (data/ovshapes, "
                                                     'data/ovshapes128)')
    p.add_argument('--eval-scenes', type=int, default=1500)
    p.add_argument('--distill-scenes', type=int, default=2000)
    p.add_argument('--epochs', type=int, default=4, help='epochs of batch 16')
    p.add_argument('--lr', type=float, default=3e-4)
    p.add_argument('--merge', nargs='+', metavar='DIR', default=None,
                   help='join the sweep.json of these output folders into --out; no runs')
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    from declip_mm.ovshapes.context_sweep import markdown, merge_folders, run_sweep
    os.chdir(ROOT)
    if args.merge:
        print(markdown(merge_folders(args.merge, args.out)))
        return
    res = run_sweep(args.teachers, args.weights, args.seeds, args.out, args.data_root,
                    args.eval_scenes, args.distill_scenes, args.epochs, args.lr,
                    world=args.world)
    print(markdown(res))


if __name__ == '__main__':
    run_main(main)
