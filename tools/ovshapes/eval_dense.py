"""Region classification and foreground mIoU of a CLIP checkpoint on the OV-Shapes test split.

Rows: ``crop`` (global embedding of each widened GT crop, the upper bound a dense map aims at)
and one row per DeCLIPViT mode (default ``vanilla``, ``maskclip`` (value-only), ``csa``): the
dense map of the whole scene, RoIAligned in each GT box. Columns: accuracy (%) over all objects,
base and novel classes, colour and shape of the predicted class, then foreground mIoU (%) over
all / base / novel classes. Prints a markdown table.

Example::

    PYTHONPATH=. python tools/ovshapes/eval_dense.py                  # shipped tiny CLIP
    PYTHONPATH=. python tools/ovshapes/eval_dense.py --checkpoint work_dirs/x/student.pt
"""
import argparse
import os
import sys

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # no spinning threads on a shared CPU

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from declip_mm.datasets.ov_shapes import probe  # noqa: E402
from declip_mm.datasets.ov_shapes.arch import TINY_CLIP_CHECKPOINT  # noqa: E402
from declip_mm.datasets.ov_shapes.writer import SPLITS, make_scenes  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
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
    torch.set_num_threads(args.threads)
    spec = SPLITS['test']
    scenes = make_scenes(args.scenes, spec.seed, spec.base_only)
    text_emb = probe.class_embeddings(probe.load_text(args.text_checkpoint))
    rows, times = probe.evaluate_checkpoint(args.checkpoint, text_emb, scenes, args.modes,
                                            crop=not args.no_crop)
    n_obj = int(next(iter(rows.values()))['objects'])
    print(f'OV-Shapes test: {args.scenes} scenes, {n_obj} objects; checkpoint {args.checkpoint}')
    print(probe.format_table(rows))
    print('seconds per row: ' + ', '.join(f'{k} {v:.1f}' for k, v in times.items()))


if __name__ == '__main__':
    main()
