"""Make the OV-COCO split files (48 base / 17 novel, OVR-CNN split) from the COCO 2017 jsons.

    python tools/dataset_converters/coco2ov.py data/coco [--out-dir data/coco/zero-shot]

Reads ``annotations/instances_{train,val}2017.json`` under the COCO root and writes, with the
names CLIPSelf's F-ViT uses:

* ``instances_train2017_seen_2_65_cat.json``: the 65 OV categories (COCO id order), annotations
  of the 48 base classes only, images that keep at least one annotation;
* ``instances_val2017_all_2.json``: the 65 categories, annotations of all 65, images that keep
  at least one annotation.

Listing all 65 categories in both files gives the same label indices in mmdet's
``CocoDataset`` for training and test (labels follow the file's category order).
"""
import argparse
import json
import os
import os.path as osp
from typing import Dict, Iterable, List

from declip_mm.engine.atomic_io import atomic_write_text
from declip_mm.vocab import OV_COCO_BASE_CLASSES, OV_COCO_NOVEL_CLASSES

TRAIN_OUT = 'instances_train2017_seen_2_65_cat.json'
VAL_OUT = 'instances_val2017_all_2.json'


def ov_split(coco: Dict, categories: Iterable[str], annotated: Iterable[str]) -> Dict:
    """A copy of a COCO dict keeping ``categories`` and the annotations of ``annotated``.

    Args:
        coco: a COCO-format dict (``images``, ``annotations``, ``categories``).
        categories: names of the categories to list (kept in the file's id order).
        annotated: names whose annotations are kept (a subset of ``categories``).

    Returns:
        New dict; images without a kept annotation are dropped, other top-level keys copied.
    """
    keep_cats, keep_anns = set(categories), set(annotated)
    cats = [c for c in sorted(coco['categories'], key=lambda c: c['id'])
            if c['name'] in keep_cats]
    missing = keep_cats - {c['name'] for c in cats}
    if missing:
        raise ValueError(f'categories missing from the COCO file: {sorted(missing)}')
    ann_ids = {c['id'] for c in cats if c['name'] in keep_anns}
    anns = [a for a in coco['annotations'] if a['category_id'] in ann_ids]
    img_ids = {a['image_id'] for a in anns}
    out = {k: v for k, v in coco.items() if k not in ('images', 'annotations', 'categories')}
    out.update(images=[im for im in coco['images'] if im['id'] in img_ids], annotations=anns,
               categories=cats)
    return out


def convert(coco_root: str, out_dir: str) -> List[str]:
    """Write the two split files; return their paths."""
    all_classes = OV_COCO_BASE_CLASSES + OV_COCO_NOVEL_CLASSES
    jobs = [('instances_train2017.json', TRAIN_OUT, OV_COCO_BASE_CLASSES),
            ('instances_val2017.json', VAL_OUT, all_classes)]
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for src, dst, annotated in jobs:
        path = osp.join(coco_root, 'annotations', src)
        if not osp.isfile(path):
            raise SystemExit(f'error: {path} not found (download the COCO 2017 annotations '
                             f'into {osp.join(coco_root, "annotations")})')
        with open(path, encoding='utf-8') as f:
            coco = json.load(f)
        split = ov_split(coco, all_classes, annotated)
        out = osp.join(out_dir, dst)
        atomic_write_text(out, json.dumps(split))
        print(f'{out}: {len(split["images"])} images, {len(split["annotations"])} boxes, '
              f'{len(split["categories"])} categories')
        written.append(out)
    return written


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description='COCO 2017 -> OV-COCO split files')
    parser.add_argument('coco_root', help='COCO root holding annotations/instances_*2017.json')
    parser.add_argument('--out-dir', help='output folder (default: COCO_ROOT/zero-shot)')
    args = parser.parse_args(argv)
    convert(args.coco_root, args.out_dir or osp.join(args.coco_root, 'zero-shot'))


if __name__ == '__main__':
    main()
