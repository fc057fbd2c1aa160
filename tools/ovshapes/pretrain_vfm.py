"""Pretrain the OV-Shapes stand-in vision foundation model (the distillation's context teacher).

The command line of ``declip_mm.ovshapes.pretrain_vfm`` (the recipes are documented there and
in ``declip_mm.ovshapes.pretrain_dino``). ``--method simmim`` (masked image modelling, the
shipped ``tiny_vfm.pt``) or ``--method dino`` (self-distillation with multi-crop and, with
``--patch-weight`` > 0, an iBOT-style masked patch term; ``tiny_vfm_dino.pt``).

Examples::

    python tools/ovshapes/pretrain_vfm.py --out work_dirs/ovshapes/tiny_vfm.pt
    python tools/ovshapes/pretrain_vfm.py --method dino --steps 1100 --batch-size 64 \
        --lr 1e-3 --momentum 0.99 --warmup 50 --patch-weight 1 \
        --out declip_mm/assets/ovshapes/tiny_vfm_dino.pt    # the shipped DINO stand-in

The defaults of the shared flags (--steps, --batch-size, --lr) are SimMIM's.
"""
import argparse
import os

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # no spinning threads on a shared CPU

from declip_mm.apis.cli import run_main  # noqa: E402
from declip_mm.ovshapes.pretrain_vfm import (DEFAULT_OUT, METHODS,  # noqa: E402
                                             PretrainVfmOptions, pretrain_vfm)


def parse_args(argv=None) -> argparse.Namespace:
    d = PretrainVfmOptions()
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--method', choices=METHODS, default=d.method,
                   help='simmim: masked image modelling; dino: self-distillation')
    p.add_argument('--out', default=None,
                   help='output; default ' + ', '.join(f'{k}: {v}' for k, v in
                                                       DEFAULT_OUT.items()) +
                   ' (the shipped files: declip_mm/assets/ovshapes/tiny_vfm.pt, '
                   'tiny_vfm_dino.pt)')
    p.add_argument('--seed', type=int, default=d.seed, help='torch seed (init, batches, views)')
    p.add_argument('--scenes', type=int, default=d.scenes, help='clip-split scenes in memory')
    p.add_argument('--steps', type=int, default=d.steps, help='optimiser steps')
    p.add_argument('--batch-size', type=int, default=d.batch_size, help='scenes a step')
    p.add_argument('--lr', type=float, default=d.lr, help='peak learning rate (AdamW)')
    p.add_argument('--mask-ratio', type=float, default=d.mask_ratio,
                   help='simmim: share of masked patches')
    p.add_argument('--threads', type=int, default=d.threads, help='torch CPU threads')
    p.add_argument('--device', default=d.device, help='torch device')
    dino = p.add_argument_group('dino')
    dino.add_argument('--local-crops', type=int, default=d.local_crops,
                      help='local 32 px views per scene (besides the 2 global 64 px ones)')
    dino.add_argument('--out-dim', type=int, default=d.out_dim, help='head prototypes')
    dino.add_argument('--teacher-temp', type=float, default=d.teacher_temp,
                      help='softmax temperature of the (centred) teacher: sharpening')
    dino.add_argument('--student-temp', type=float, default=d.student_temp,
                      help='softmax temperature of the student')
    dino.add_argument('--momentum', type=float, default=d.momentum,
                      help='EMA momentum at step 0 (cosine to 1 at the end)')
    dino.add_argument('--patch-weight', type=float, default=d.patch_weight,
                      help='weight of the iBOT-style masked patch term; 0: CLS loss only')
    dino.add_argument('--patch-mask', type=float, nargs=2, default=d.patch_mask,
                      help='range of the share of masked patches of a student global view')
    dino.add_argument('--weight-decay', type=float, default=d.weight_decay,
                      help='AdamW weight decay (SimMIM: 0.05)')
    dino.add_argument('--warmup', type=int, default=d.warmup,
                      help='learning-rate warm-up steps (SimMIM: 100)')
    args = p.parse_args(argv)
    args.patch_mask = tuple(args.patch_mask)
    return args


if __name__ == '__main__':
    run_main(lambda: pretrain_vfm(PretrainVfmOptions(**vars(parse_args()))))
