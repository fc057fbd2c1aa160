"""Unlabeled image dataset: folder, COCO / LVIS / LLaVA json, text list, skimage:// photos."""
import json
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
from mmcv.transforms import LoadImageFromFile

from declip_mm.datasets.distill import DeCLIPUnlabeledImageDataset
from declip_mm.datasets.distill.skimage_backend import skimage_photo
from declip_mm.utils.errors import DataError


def write_images(folder, names):
    for i, name in enumerate(names):
        path = osp.join(folder, name)
        os.makedirs(osp.dirname(path), exist_ok=True)
        mmcv.imwrite(np.full((20 + i, 30, 3), 10 * i, np.uint8), path)


def paths(ds):
    return [ds.get_data_info(i)['img_path'] for i in range(len(ds))]


def test_folder_scan(tmp_path):
    write_images(str(tmp_path / 'imgs'), ['b.jpg', 'a.png', 'sub/c.jpeg'])
    (tmp_path / 'imgs' / 'notes.txt').write_text('not an image')
    ds = DeCLIPUnlabeledImageDataset(data_root=str(tmp_path), data_prefix=dict(img='imgs'))
    assert paths(ds) == [osp.join(str(tmp_path), 'imgs', n)
                         for n in ('a.png', 'b.jpg', 'sub/c.jpeg')]
    assert ds.get_data_info(2)['img_id'] == 2


def test_coco_lvis_llava_and_text_lists(tmp_path):
    coco = dict(images=[dict(id=1, file_name='000001.jpg'), dict(id=2, file_name='000002.jpg')],
                annotations=[dict(id=5, image_id=1, bbox=[0, 0, 1, 1])], categories=[])
    lvis = dict(images=[dict(id=9, coco_url='http://images.cocodataset.org/train2017/000009.jpg')])
    llava = [dict(id='x', image='coco/train2017/a.jpg'), dict(id='y', image='gqa/b.jpg')]
    for name, obj in (('coco.json', coco), ('lvis.json', lvis), ('llava.json', llava)):
        (tmp_path / name).write_text(json.dumps(obj))
    (tmp_path / 'list.txt').write_text('# images\nx/1.jpg\n\n/abs/2.jpg\n')
    root = str(tmp_path)
    ds = DeCLIPUnlabeledImageDataset(data_root=root, ann_file='coco.json',
                                     data_prefix=dict(img='train2017/'))
    assert paths(ds) == [osp.join(root, 'train2017', '000001.jpg'),
                         osp.join(root, 'train2017', '000002.jpg')]
    ds = DeCLIPUnlabeledImageDataset(data_root=root, ann_file='lvis.json')
    assert paths(ds) == [osp.join(root, 'train2017/000009.jpg')]
    ds = DeCLIPUnlabeledImageDataset(data_root=root, ann_file='llava.json',
                                     data_prefix=dict(img='d'))
    assert paths(ds) == [osp.join(root, 'd', 'coco/train2017/a.jpg'),
                         osp.join(root, 'd', 'gqa/b.jpg')]
    ds = DeCLIPUnlabeledImageDataset(data_root=root, ann_file='list.txt', data_prefix=dict(img='d'))
    assert paths(ds) == [osp.join(root, 'd', 'x/1.jpg'), '/abs/2.jpg']


def test_errors_are_data_errors(tmp_path):
    with pytest.raises(DataError, match='not found'):
        DeCLIPUnlabeledImageDataset(data_prefix=dict(img=str(tmp_path / 'missing')))
    (tmp_path / 'bad.json').write_text(json.dumps(dict(foo=1)))
    with pytest.raises(DataError, match='COCO'):
        DeCLIPUnlabeledImageDataset(ann_file=str(tmp_path / 'bad.json'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(DataError, match='no images'):
        DeCLIPUnlabeledImageDataset(data_prefix=dict(img=str(tmp_path / 'empty')))


def test_skimage_uris_load_through_the_standard_loader():
    ds = DeCLIPUnlabeledImageDataset(img_paths=['skimage://coffee', 'skimage://astronaut'],
                                     pipeline=[LoadImageFromFile()])
    assert len(ds) == 2
    out = ds[0]
    coffee = skimage_photo('coffee')
    assert out['img'].shape == (400, 600, 3)
    assert np.array_equal(out['img'][..., ::-1], coffee)   # mmcv loads BGR
    with pytest.raises(DataError, match='bundled'):
        LoadImageFromFile()(dict(img_path='skimage://kidney'))
