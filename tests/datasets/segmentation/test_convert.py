"""COCO-Object conversion as the prescribed (GroupViT / TCL) converter does it, on a tiny
synthetic COCO-Stuff annotation rendered from a COCO json."""
import json

import numpy as np
import pytest
from PIL import Image

from declip_mm.datasets.segmentation.convert import (THING_IDS, convert_dir, main,
                                                     to_coco_object)
from declip_mm.utils.errors import DataError

# COCO category ids: things 1 person, 3 car, 90 toothbrush; stuff 92 banner, 182 wood
CATEGORIES = [dict(id=1, name='person'), dict(id=3, name='car'), dict(id=90, name='toothbrush'),
              dict(id=92, name='banner'), dict(id=182, name='wood')]
BOXES = {1: (0, 0, 8, 8), 3: (8, 0, 16, 8), 90: (16, 0, 24, 8), 92: (0, 8, 24, 16),
         182: (24, 0, 32, 16)}   # x1, y1, x2, y2; the rest of the 32x24 image is unlabelled


def coco_json(path) -> dict:
    anns = [dict(id=i + 1, image_id=1, category_id=c, iscrowd=0, area=(x2 - x1) * (y2 - y1),
                 bbox=[x1, y1, x2 - x1, y2 - y1],
                 segmentation=[[x1, y1, x2, y1, x2, y2, x1, y2]])
            for i, (c, (x1, y1, x2, y2)) in enumerate(BOXES.items())]
    data = dict(images=[dict(id=1, width=32, height=24, file_name='000000000001.jpg')],
                annotations=anns, categories=CATEGORIES)
    path.write_text(json.dumps(data))
    return data


def render_stuff_map(json_path) -> np.ndarray:
    """COCO-Stuff's raw label map: category id - 1 per pixel, 255 where nothing is drawn."""
    from pycocotools.coco import COCO
    coco = COCO(str(json_path))
    label = np.full((24, 32), 255, np.uint8)
    for ann in coco.loadAnns(coco.getAnnIds(imgIds=[1])):
        label[coco.annToMask(ann) > 0] = ann['category_id'] - 1
    return label


def test_things_count_and_order():
    assert len(THING_IDS) == 80 and THING_IDS[:3] == (0, 1, 2) and THING_IDS[-1] == 89


def test_convert_dir_scores_unlabelled_pixels_as_background(tmp_path, capsys):
    src, dst = tmp_path / 'val2017', tmp_path / 'out'
    src.mkdir()
    coco_json(tmp_path / 'stuff_val2017.json')
    raw = render_stuff_map(tmp_path / 'stuff_val2017.json')
    assert set(np.unique(raw)) == {0, 2, 89, 91, 181, 255}
    Image.fromarray(raw).save(src / '000000000001.png')
    # an mmseg train-id map beside it is not a raw map: skipped
    Image.fromarray(np.zeros_like(raw)).save(src / '000000000001_labelTrainIds.png')
    main([str(src), str(dst)])
    assert 'converted 1 label maps' in capsys.readouterr().out
    out = np.asarray(Image.open(dst / '000000000001_instanceTrainIds.png'))
    expect = np.zeros((24, 32), np.uint8)           # stuff and unlabelled: background 0
    expect[raw == 0], expect[raw == 2], expect[raw == 89] = 1, 3, 80   # person, car, toothbrush
    assert np.array_equal(out, expect)
    assert (raw == 255).sum() > 200 and (out[raw == 255] == 0).all()

    # mmseg's 171-class train ids (things 0-79, stuff 80-170, 255) give the same output
    train = np.full_like(raw, 255)
    for thing_idx, raw_id in enumerate(THING_IDS):
        train[raw == raw_id] = thing_idx
    train[(raw >= 91) & (raw < 255)] = 80 + raw[(raw >= 91) & (raw < 255)] - 91
    tsrc = tmp_path / 'train_ids'
    tsrc.mkdir()
    Image.fromarray(train).save(tsrc / '000000000001_labelTrainIds.png')
    assert convert_dir(str(tsrc), str(tmp_path / 'out2'), train_ids=True) == 1
    out2 = np.asarray(Image.open(tmp_path / 'out2' / '000000000001_instanceTrainIds.png'))
    assert np.array_equal(out2, expect)


def test_bad_values_and_empty_folders_name_the_file(tmp_path):
    with pytest.raises(DataError, match='a.png: values \\[11, 200\\]'):
        to_coco_object(np.array([[0, 11], [200, 255]], np.uint8), name='a.png')
    with pytest.raises(DataError, match='train-id'):
        to_coco_object(np.array([[171]], np.uint8), train_ids=True)
    with pytest.raises(DataError, match='no COCO-Stuff label maps'):
        convert_dir(str(tmp_path), str(tmp_path / 'o'))
