"""Make the OV-LVIS training file: LVIS v1 train without the annotations of rare classes.

    python tools/dataset_converters/lvis2ov.py data/lvis_v1 [--out FILE]

Reads ``annotations/lvis_v1_train.json`` and writes ``annotations/lvis_v1_train_norare.json``:
all 1203 categories kept (so labels do not move), annotations of the 337 rare categories
(``frequency == 'r'``) removed, images kept (LVIS is federated: an image's ``neg_category_ids``
/ ``not_exhaustive_category_ids`` of rare classes are dropped too). Evaluate on the untouched
``lvis_v1_val.json`` with mmdet's ``LVISMetric``, whose APr is the novel-class score.
"""
import argparse
import json
import os.path as osp
from typing import Dict


def drop_rare(lvis: Dict) -> Dict:
    """A copy of an LVIS dict without rare-class annotations (categories and images kept)."""
    rare = {c['id'] for c in lvis['categories'] if c.get('frequency') == 'r'}
    if not rare:
        raise ValueError('no category has frequency "r": is this an LVIS v1 file?')
    out = dict(lvis)
    out['annotations'] = [a for a in lvis['annotations'] if a['category_id'] not in rare]
    out['images'] = []
    for im in lvis['images']:
        im = dict(im)
        for key in ('neg_category_ids', 'not_exhaustive_category_ids'):
            if key in im:
                im[key] = [c for c in im[key] if c not in rare]
        out['images'].append(im)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description='LVIS v1 train -> OV-LVIS train (no rare)')
    parser.add_argument('lvis_root', help='root holding annotations/lvis_v1_train.json')
    parser.add_argument('--out', help='output file (default: '
                        'LVIS_ROOT/annotations/lvis_v1_train_norare.json)')
    args = parser.parse_args(argv)
    src = osp.join(args.lvis_root, 'annotations', 'lvis_v1_train.json')
    if not osp.isfile(src):
        raise SystemExit(f'error: {src} not found (download the LVIS v1 annotations there)')
    with open(src, encoding='utf-8') as f:
        lvis = json.load(f)
    out = drop_rare(lvis)
    dst = args.out or osp.join(args.lvis_root, 'annotations', 'lvis_v1_train_norare.json')
    with open(dst, 'w', encoding='utf-8') as f:
        json.dump(out, f)
    print(f'{dst}: {len(out["annotations"])} of {len(lvis["annotations"])} annotations kept')


if __name__ == '__main__':
    main()
