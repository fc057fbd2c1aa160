"""The main job (``bash tools/run_main.sh``): open-vocabulary detection on OV-Shapes, offline.

The command line of ``declip_mm.ovshapes.main_job.run_main_job`` (its steps are described
there): makes the scenes, trains and tests the F-ViT detector on the tiny DeCLIP encoder (and,
if the budget allows, on the plain tiny CLIP), draws pictures. Relative paths are read from the
repository root. Results: ``<out>/metrics.json``, ``<out>/pictures/``, ``<out>/declip_csa/vis/``;
the runner's logs in ``<out>/logs/``.

    python tools/ovshapes/main_job.py [--out outputs/main_job] [--iters 400]
        [--train-scenes 2000] [--test-scenes 500] [--baseline auto|always|never]
        [--clip TINY_CLIP.pt] [--declip TINY_DECLIP.pt]
"""
import argparse
import os

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # no spinning threads on a shared CPU

from declip_mm.apis.cli import run_main  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', default='outputs/main_job', help='results folder')
    p.add_argument('--data-root', default='data/ovshapes', help='OV-Shapes folder')
    p.add_argument('--train-scenes', type=int, default=2000, help='train_base scenes used')
    p.add_argument('--test-scenes', type=int, default=500, help='test scenes evaluated')
    p.add_argument('--iters', type=int, default=400, help='training iterations (batch 8)')
    p.add_argument('--pictures', type=int, default=8, help='scenes drawn into pictures/')
    p.add_argument('--show-scenes', type=int, default=16,
                   help='test scenes drawn by mmdet\'s visualization hook into '
                        '<out>/declip_csa/vis (mmdet draws about 6 pictures a second, so not '
                        'all of them)')
    p.add_argument('--baseline', choices=['auto', 'always', 'never'], default='auto',
                   help='also train the plain-CLIP detector (auto: if the budget allows)')
    p.add_argument('--budget-min', type=float, default=10.0,
                   help='time budget (minutes) that --baseline auto respects')
    p.add_argument('--clip', default=None,
                   help='tiny CLIP checkpoint (default: the shipped tiny_clip.pt)')
    p.add_argument('--declip', default=None,
                   help='distilled tiny DeCLIP encoder (default: the shipped tiny_declip.pt)')
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    from declip_mm.ovshapes.main_job import MainJobOptions, run_main_job
    os.chdir(ROOT)
    run_main_job(MainJobOptions(**vars(args)))


if __name__ == '__main__':
    run_main(main)
