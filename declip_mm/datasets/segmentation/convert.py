"""COCO-Object label maps (background + 80 things) from COCO-Stuff-164k, as the training-free
harness of DeCLIP prescribes.

The SCLIP / ClearCLIP / ProxyCLIP harness that DeCLIP's ``ZSSS`` branch runs (its README:
``python datasets/cvt_coco_object.py PATH_TO_COCO_STUFF164K -o ...``, the GroupViT converter)
reads the raw COCO-Stuff label PNGs and writes ``<stem>_instanceTrainIds.png`` with

* the 80 thing classes as 1..80 (COCO order),
* every stuff class **and every unlabelled pixel (255)** as background 0,

so unlabelled pixels are scored as background; nothing is ignored. ::

    python -m declip_mm.datasets.segmentation.convert \\
        data/coco_stuff164k/annotations/val2017 data/coco_object/annotations/val2017

reads the raw maps ``<stem>.png`` under SRC (mmseg's COCO-Stuff-164k layout; values 0-181 =
COCO category id - 1, 255 unlabelled). ``--train-ids`` reads mmseg's ``*_labelTrainIds.png``
instead (things 0-79, stuff 80-170, 255): the output is the same.
"""
import argparse
import glob
import os
import os.path as osp

import numpy as np

from ...utils.errors import DataError

NUM_THINGS = 80
UNLABELLED = 255
# COCO category ids 1-90 that no thing class uses (as raw map values: id - 1)
UNUSED_THING_IDS = (11, 25, 28, 29, 44, 65, 67, 68, 70, 82, 90)
THING_IDS = tuple(i for i in range(91) if i not in UNUSED_THING_IDS)  # 80 raw values
STUFF_IDS = tuple(range(91, 182))                                     # 91 raw values


def _lookup(pairs) -> np.ndarray:
    """A 256-entry table; values without a pair map to -1 (unknown)."""
    lut = np.full(256, -1, dtype=np.int16)
    for src, dst in pairs:
        lut[src] = dst
    return lut


RAW_TO_OBJECT = _lookup([(t, i + 1) for i, t in enumerate(THING_IDS)]
                        + [(s, 0) for s in STUFF_IDS] + [(UNLABELLED, 0)])
TRAIN_IDS_TO_OBJECT = _lookup([(t, t + 1) for t in range(NUM_THINGS)]
                              + [(s, 0) for s in range(NUM_THINGS, 171)] + [(UNLABELLED, 0)])


def to_coco_object(label: np.ndarray, train_ids: bool = False, name: str = 'label') -> np.ndarray:
    """COCO-Stuff label map -> COCO-Object ids.

    Args:
        label: ``(H, W)`` uint8, raw COCO-Stuff values (``train_ids=False``) or mmseg's
            171-class train ids.
        train_ids: which of the two the map holds.
        name: named in the error for values outside the format.

    Returns:
        ``(H, W)`` uint8: things 1-80, stuff and unlabelled 0.
    """
    lut = TRAIN_IDS_TO_OBJECT if train_ids else RAW_TO_OBJECT
    out = lut[np.asarray(label, dtype=np.uint8)]
    if (out < 0).any():
        bad = sorted(set(np.unique(np.asarray(label)[out < 0]).tolist()))
        kind = 'mmseg train-id' if train_ids else 'raw COCO-Stuff'
        raise DataError(f'{name}: values {bad[:8]} are not {kind} labels')
    return out.astype(np.uint8)


def source_files(src: str, train_ids: bool = False) -> list:
    """The label maps to convert, sorted: ``*_labelTrainIds.png`` or the raw ``<stem>.png``
    (files whose name contains ``TrainIds`` are outputs of converters, skipped)."""
    if train_ids:
        return sorted(glob.glob(osp.join(src, '*_labelTrainIds.png')))
    return sorted(p for p in glob.glob(osp.join(src, '*.png'))
                  if 'TrainIds' not in osp.basename(p))


def convert_dir(src: str, dst: str, train_ids: bool = False) -> int:
    """Write ``<stem>_instanceTrainIds.png`` into ``dst`` for every map of ``src``.

    Returns:
        the number of files written.
    """
    from PIL import Image
    files = source_files(src, train_ids)
    if not files:
        raise DataError(f'{src}: no COCO-Stuff label maps '
                        f'({"*_labelTrainIds.png" if train_ids else "<stem>.png"}) found')
    os.makedirs(dst, exist_ok=True)
    for path in files:
        stem = osp.basename(path)[:-len('.png')]
        stem = stem[:-len('_labelTrainIds')] if train_ids else stem
        out = to_coco_object(np.asarray(Image.open(path)), train_ids, name=path)
        Image.fromarray(out).save(osp.join(dst, stem + '_instanceTrainIds.png'))
    return len(files)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='COCO-Stuff-164k annotation folder (e.g. .../val2017)')
    parser.add_argument('dst', help='output folder for *_instanceTrainIds.png')
    parser.add_argument('--train-ids', action='store_true',
                        help="read mmseg's *_labelTrainIds.png instead of the raw maps")
    args = parser.parse_args(argv)
    print(f'converted {convert_dir(args.src, args.dst, args.train_ids)} label maps '
          f'into {args.dst}')


if __name__ == '__main__':
    main()
