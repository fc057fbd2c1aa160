"""The OV-Shapes ladder: the paper's claims measured in miniature, over seeds, in one command.

The command line of ``declip_mm.ovshapes.ladder.run_ladder`` (the rungs are described there).
Relative paths are read from the repository root. Writes ``<out>/ladder.json``,
``<out>/ladder.md`` and ``<out>/pictures/``.

    python tools/ovshapes/ladder.py [--seeds 0 1 2] [--out outputs/ovshapes_ladder]
        [--no-fvit] [--fvit-iters 400] [--distill-lr 3e-4]
"""
import argparse
import os

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # no spinning threads on a shared CPU

from declip_mm.apis.cli import run_main  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_args(argv=None) -> argparse.Namespace:
    from declip_mm.datasets.ov_shapes import WORLDS
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--out', default='outputs/ovshapes_ladder')
    p.add_argument('--world', default='64', choices=sorted(WORLDS),
                   help='the scenes and configs: the 64 px world or the 128 px one')
    p.add_argument('--data-root', default=None, help="default: the world's (data/ovshapes, "
                                                     'data/ovshapes128)')
    p.add_argument('--clip', default=None,
                   help="tiny CLIP (default: the world's shipped one)")
    p.add_argument('--eval-scenes', type=int, default=1500, help='test scenes of the probes')
    p.add_argument('--distill-scenes', type=int, default=2000)
    p.add_argument('--distill-epochs', type=int, default=4, help='epochs of batch 16')
    p.add_argument('--distill-lr', type=float, default=3e-4)
    p.add_argument('--distill-config', default=None,
                   help="distillation config (default: the world's content-only recipe; "
                        'declip_distill-context_ovshapes.py adds the context loss with the '
                        'stand-in VFM)')
    p.add_argument('--context-weight', type=float, default=None,
                   help="weight of the context loss (default: the config's)")
    p.add_argument('--no-fvit', action='store_true', help='skip the detectors')
    p.add_argument('--no-baseline', action='store_true',
                   help='train F-ViT on the distilled encoder only (not on the plain CLIP)')
    p.add_argument('--no-seg', action='store_true', help='skip the training-free segmentor')
    p.add_argument('--fvit-iters', type=int, default=400)
    p.add_argument('--train-scenes', type=int, default=2000, help='F-ViT training scenes')
    p.add_argument('--test-scenes', type=int, default=500, help='F-ViT / segmentor test scenes')
    p.add_argument('--pictures', type=int, default=4)
    p.add_argument('--reuse', action='store_true',
                   help='keep distilled encoders and detectors already in --out (re-evaluate)')
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    from declip_mm.ovshapes.ladder import LadderOptions, run_ladder
    os.chdir(ROOT)
    run_ladder(LadderOptions(**vars(args)))


if __name__ == '__main__':
    run_main(main)
