"""Export a distilled OV-Shapes encoder as the small file the repository ships.

The command line of ``declip_mm.ovshapes.export.export_encoder``. Example::

    python tools/train.py configs/ovshapes/declip_distill_ovshapes.py
    python tools/ovshapes/export_encoder.py \\
        work_dirs/declip_distill_ovshapes/declip_backbone_epoch_4.pth \\
        declip_mm/assets/ovshapes/tiny_declip.pt
"""
import argparse
import os

from declip_mm.apis.cli import run_main


def main(argv=None) -> None:
    from declip_mm.datasets.ov_shapes.arch import TINY_CLIP_CHECKPOINT
    from declip_mm.ovshapes.export import export_encoder
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('src', help='declip_backbone_epoch_N.pth of the distillation')
    p.add_argument('dst', help='output file')
    p.add_argument('--teacher', default=TINY_CLIP_CHECKPOINT,
                   help='the tiny CLIP the student was distilled from')
    args = p.parse_args(argv)
    meta = export_encoder(args.src, args.dst, args.teacher)
    size = os.path.getsize(args.dst) / 2 ** 20
    print(f'wrote {args.dst} ({size:.2f} MiB), teacher sha256 {meta["teacher_sha256"][:12]}')


if __name__ == '__main__':
    run_main(main)
