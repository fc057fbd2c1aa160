"""OV-Shapes splits on disk per world: write_split records the world, ensure_split and
make_data refuse a split of another world, the command line writes the world's root."""
import importlib.util
import json
import os

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from declip_mm.datasets.ov_shapes import SPLITS, WORLDS, make_scenes, write_split
from declip_mm.ovshapes.data import ensure_split, make_data, split_world

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _json(path):
    with open(path) as f:
        return json.load(f)


def test_write_split_128_round_trip(tmp_path):
    spec = SPLITS['test']
    path = write_split(str(tmp_path / 'test'), 3, spec.seed, spec.base_only, world='128')
    coco = _json(path)
    assert coco['info']['world'] == '128' and split_world(str(tmp_path / 'test')) == '128'
    scenes = make_scenes(3, spec.seed, spec.base_only, world='128')
    assert [im['caption'] for im in coco['images']] == [s.caption for s in scenes]
    for im, scene in zip(coco['images'], scenes):
        assert (im['height'], im['width']) == (128, 128)
        img = cv2.imread(str(tmp_path / 'test' / 'images' / im['file_name']))[..., ::-1]
        np.testing.assert_array_equal(img, scene.image)
        anns = [a for a in coco['annotations'] if a['image_id'] == im['id']]
        for a, box, mask in zip(anns, scene.boxes, scene.masks):
            np.testing.assert_array_equal(mask_utils.decode(a['segmentation']).astype(bool), mask)
            x1, y1, x2, y2 = box.tolist()
            assert a['bbox'] == [x1, y1, x2 - x1, y2 - y1] and a['area'] == int(mask.sum())


def test_write_split_64_records_its_world(tmp_path):
    path = write_split(str(tmp_path / 'train_base'), 2, 1, True)
    assert _json(path)['info']['world'] == '64'


def test_ensure_split_reuses_its_world_and_refuses_another(tmp_path):
    root = str(tmp_path)
    assert ensure_split(root, 'test', 3, world='128') == 3
    assert _json(tmp_path / 'test' / 'annotations.json')['info']['world'] == '128'
    assert ensure_split(root, 'test', 2, world='128') == 3  # reused
    ann = str(tmp_path / 'test' / 'annotations.json')
    with pytest.raises(ValueError) as err:
        ensure_split(root, 'test', 2)  # the 64 world by default
    msg = str(err.value)
    assert ann in msg and "world '128'" in msg and "world '64'" in msg
    with pytest.raises(ValueError, match="world '128' scenes"):
        ensure_split(root, 'test', 5, world=WORLDS['64'])  # nor is it overwritten
    assert len(_json(ann)['images']) == 3


def test_splits_without_a_world_count_as_64(tmp_path):
    root = str(tmp_path)
    write_split(str(tmp_path / 'test'), 2, SPLITS['test'].seed, False)
    ann = tmp_path / 'test' / 'annotations.json'
    coco = _json(ann)
    del coco['info']['world']  # as written before worlds existed
    ann.write_text(json.dumps(coco))
    assert split_world(str(tmp_path / 'test')) == '64'
    assert ensure_split(root, 'test', 2) == 2
    with pytest.raises(ValueError, match="holds world '64' scenes, but world '128'"):
        ensure_split(root, 'test', 2, world='128')


def test_make_data_defaults_to_the_world_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    paths = make_data(splits=('test',), num=2, world='128')
    assert paths == [os.path.join('data/ovshapes128', 'test', 'annotations.json')]
    assert _json(tmp_path / paths[0])['info']['world'] == '128'
    with pytest.raises(ValueError, match="world '128' scenes"):
        make_data('data/ovshapes128', splits=('test',), num=2, world='64')


def test_make_data_command_line_world_flag(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location(
        '_make_data_cli', os.path.join(ROOT, 'tools', 'ovshapes', 'make_data.py'))
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    monkeypatch.chdir(tmp_path)
    cli.main(['--world', '128', '--splits', 'train_base', '--num', '2'])
    coco = _json(tmp_path / 'data' / 'ovshapes128' / 'train_base' / 'annotations.json')
    assert coco['info']['world'] == '128' and coco['info']['base_only'] is True
    assert coco['images'][0]['width'] == 128
    cli.main(['--splits', 'test', '--num', '1', '--root', 'other'])
    assert _json(tmp_path / 'other' / 'test' / 'annotations.json')['info']['world'] == '64'
