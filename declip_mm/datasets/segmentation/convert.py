"""Label conversion for COCO-Object: COCO-Stuff-171 train-id maps -> background + 80 things.

    python -m declip_mm.datasets.segmentation.convert SRC_DIR DST_DIR

reads every ``*_labelTrainIds.png`` under SRC_DIR (mmseg's COCO-Stuff-164k layout, e.g.
``data/coco_stuff164k/annotations/val2017``) and writes ``*_instanceTrainIds.png`` to DST_DIR.
"""
import argparse
import glob
import os
import os.path as osp

import numpy as np

NUM_THINGS = 80


def coco_stuff_to_object(label: np.ndarray, ignore_index: int = 255) -> np.ndarray:
    """COCO-Stuff-171 train ids (things 0-79, stuff 80-170) -> COCO-Object ids.

    Things become 1-80, every stuff class becomes background 0, ``ignore_index`` is kept.
    """
    out = np.zeros_like(label, dtype=np.uint8)
    things = label < NUM_THINGS
    out[things] = label[things] + 1
    out[label == ignore_index] = ignore_index
    return out


def convert_dir(src: str, dst: str) -> int:
    """Convert every ``*_labelTrainIds.png`` in ``src``; returns the number of files."""
    from PIL import Image
    os.makedirs(dst, exist_ok=True)
    files = sorted(glob.glob(osp.join(src, '*_labelTrainIds.png')))
    for path in files:
        label = np.asarray(Image.open(path))
        name = osp.basename(path).replace('_labelTrainIds.png', '_instanceTrainIds.png')
        Image.fromarray(coco_stuff_to_object(label)).save(osp.join(dst, name))
    return len(files)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src')
    parser.add_argument('dst')
    args = parser.parse_args(argv)
    print(f'converted {convert_dir(args.src, args.dst)} label maps into {args.dst}')


if __name__ == '__main__':
    main()
