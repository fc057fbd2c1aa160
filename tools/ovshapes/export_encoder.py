"""Export a distilled OV-Shapes encoder as the small file the repository ships.

Reads the alpha-ensembled backbone that ``DeCLIPEnsembleCheckpointHook`` wrote
(``declip_backbone_epoch_N.pth``: ``state_dict`` of ``visual.*`` keys + ``meta``), stores its
floating tensors in fp16, and records in ``meta`` the source file and the sha256 of the tiny
CLIP it was distilled from (the main job warns when the shipped tiny CLIP has changed since).

Example::

    python tools/train.py configs/ovshapes/declip_distill_ovshapes.py
    python tools/ovshapes/export_encoder.py \\
        work_dirs/declip_distill_ovshapes/declip_backbone_epoch_4.pth \\
        declip_mm/assets/ovshapes/tiny_declip.pt
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def export(src: str, dst: str, teacher: str) -> dict:
    """fp16 copy of ``src`` at ``dst`` with ``meta.source`` / ``meta.teacher_sha256``."""
    from declip_mm.checkpoint import safe_torch_load
    from declip_mm.datasets.ov_shapes.arch import file_sha256
    from declip_mm.engine.atomic_io import atomic_torch_save
    ckpt = safe_torch_load(src)
    if 'state_dict' not in ckpt or not any(k.startswith('visual.') for k in ckpt['state_dict']):
        raise SystemExit(f'error: {src} is not a DeCLIPViT backbone file (visual.* keys)')
    ckpt['state_dict'] = {k: v.half() if v.is_floating_point() else v
                          for k, v in ckpt['state_dict'].items()}
    ckpt.setdefault('meta', {}).update(source=os.path.relpath(src),
                                       teacher_sha256=file_sha256(teacher))
    atomic_torch_save(ckpt, dst)
    return ckpt['meta']


def main(argv=None) -> None:
    from declip_mm.datasets.ov_shapes.arch import TINY_CLIP_CHECKPOINT
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('src', help='declip_backbone_epoch_N.pth of the distillation')
    p.add_argument('dst', help='output file')
    p.add_argument('--teacher', default=TINY_CLIP_CHECKPOINT,
                   help='the tiny CLIP the student was distilled from')
    args = p.parse_args(argv)
    meta = export(args.src, args.dst, args.teacher)
    size = os.path.getsize(args.dst) / 2 ** 20
    print(f'wrote {args.dst} ({size:.2f} MiB), teacher sha256 {meta["teacher_sha256"][:12]}')


if __name__ == '__main__':
    main()
