"""OV-Shapes generator, writer and the mmdet / mmseg datasets built on its files."""
import json
import re

import numpy as np
import pytest
import torch

from declip_mm.datasets.ov_shapes import (BASE_CLASSES, CLASSES, COLOURS, NOVEL_CLASSES, SHAPES,
                                          generate_scene, make_scenes, scene_rng, semantic_map,
                                          write_split)
from declip_mm.datasets.ov_shapes.classes import (NOVEL_IDS, caption_for, class_index,
                                                  colour_of, shape_of)
from declip_mm.datasets.ov_shapes.generator import GAP, IMAGE_SIZE, MAX_OBJECTS, MIN_SIZE


@pytest.fixture(scope='module')
def scenes():
    return make_scenes(150, seed=11, base_only=False)


def test_vocabulary_split():
    assert len(CLASSES) == 30 and len(set(CLASSES)) == 30
    assert len(NOVEL_CLASSES) == 6 and len(BASE_CLASSES) == 24
    assert set(NOVEL_CLASSES) <= set(CLASSES)
    # every colour and every shape still occurs in (at least four) base classes
    for colour in COLOURS:
        assert sum(c.startswith(colour + ' ') for c in BASE_CLASSES) >= 4
    for shape in SHAPES:
        assert sum(c.endswith(' ' + shape) for c in BASE_CLASSES) >= 4
    assert CLASSES[class_index('red', 'ring')] == 'red ring'
    assert (colour_of(class_index('cyan', 'bar')), shape_of(class_index('cyan', 'bar'))) == (5, 4)
    red_ring, blue_bar = class_index('red', 'ring'), class_index('blue', 'bar')
    assert caption_for([red_ring, blue_bar]) == 'a red ring and a blue bar'


def test_generator_is_deterministic():
    a = generate_scene(scene_rng(5, 3))
    b = generate_scene(scene_rng(5, 3))
    for x, y in zip(a[:4], b[:4]):
        np.testing.assert_array_equal(x, y)
    assert a.caption == b.caption
    c = generate_scene(scene_rng(5, 4))
    assert not np.array_equal(a.image, c.image)
    # a split's prefix is the same whatever its length
    assert make_scenes(3, 5, False)[2].caption == make_scenes(5, 5, False)[2].caption


def test_scene_invariants(scenes):
    counts = set()
    for s in scenes:
        n = len(s.labels)
        counts.add(n)
        assert s.image.shape == (IMAGE_SIZE, IMAGE_SIZE, 3) and s.image.dtype == np.uint8
        assert s.boxes.shape == (n, 4) and s.masks.shape == (n, IMAGE_SIZE, IMAGE_SIZE)
        assert 1 <= n <= MAX_OBJECTS and len(set(s.labels.tolist())) == n
        wh = s.boxes[:, 2:] - s.boxes[:, :2]
        assert (wh.max(1) >= MIN_SIZE).all()
        assert (s.boxes[:, :2] >= 0).all() and (s.boxes[:, 2:] <= IMAGE_SIZE).all()
        assert s.masks.sum(0).max() <= 1  # masks never overlap
        for i in range(n):
            ys, xs = np.nonzero(s.masks[i])
            # the box is the tight box of the mask: the mask lies inside it, touching each side
            np.testing.assert_array_equal(s.boxes[i], [xs.min(), ys.min(), xs.max() + 1,
                                                       ys.max() + 1])
            for j in range(i + 1, n):  # boxes grown by GAP px are disjoint
                a, b = s.boxes[i], s.boxes[j]
                assert (a[2] + GAP <= b[0] or b[2] + GAP <= a[0] or
                        a[3] + GAP <= b[1] or b[3] + GAP <= a[1])
        named = re.findall(r'a (\w+ \w+)', s.caption)
        assert sorted(named) == sorted(CLASSES[i] for i in s.labels)
        assert len(s.caption.split(' and ')) == n
    assert counts == {1, 2, 3, 4}


def test_objects_have_their_colour(scenes):
    """The mean colour inside a mask is nearest to the class colour (the data is learnable)."""
    names, rgbs = list(COLOURS), np.array(list(COLOURS.values()), np.float32)
    hits, total = 0, 0
    for s in scenes:
        for label, mask in zip(s.labels, s.masks):
            mean = s.image[mask].astype(np.float32).mean(0)
            hits += names[int(np.argmin(((rgbs - mean) ** 2).sum(1)))] == names[colour_of(label)]
            total += 1
    assert hits / total > 0.97


def test_base_only_scenes_have_no_novel_objects(scenes):
    base = make_scenes(300, seed=12, base_only=True)
    labels = np.concatenate([s.labels for s in base])
    assert not np.isin(labels, NOVEL_IDS).any()
    assert len(np.unique(labels)) == 24
    assert np.isin(np.concatenate([s.labels for s in scenes]), NOVEL_IDS).any()


def test_semantic_map_hand_case():
    s = generate_scene(scene_rng(0, 1))
    sem = semantic_map(s)
    for label, mask in zip(s.labels, s.masks):
        assert (sem[mask] == label + 1).all()
    assert (sem[~s.masks.any(0)] == 0).all()


@pytest.fixture(scope='module')
def split_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp('ovshapes') / 'mini'
    write_split(str(root), n=8, seed=2, base_only=False)
    return root


def test_written_coco_json(split_dir):
    coco = json.loads((split_dir / 'annotations.json').read_text())
    assert len(coco['images']) == 8
    assert [c['name'] for c in coco['categories']] == list(CLASSES)
    assert [c['id'] for c in coco['categories']] == list(range(1, 31))
    assert {c['name'] for c in coco['categories'] if c['split'] == 'novel'} == set(NOVEL_CLASSES)
    scenes = make_scenes(8, 2, False)
    assert [im['caption'] for im in coco['images']] == [s.caption for s in scenes]
    assert len(coco['annotations']) == sum(len(s.labels) for s in scenes)
    first = coco['annotations'][0]
    x1, y1, x2, y2 = scenes[0].boxes[0]
    assert first['bbox'] == [x1, y1, x2 - x1, y2 - y1]
    assert first['area'] == int(scenes[0].masks[0].sum())
    assert first['category_id'] == scenes[0].labels[0] + 1


def test_mmdet_dataset_loads_boxes_and_masks(split_dir):
    from mmdet.datasets.transforms import LoadAnnotations
    from mmcv.transforms import LoadImageFromFile
    from declip_mm.datasets.ov_shapes import OVShapesDetDataset
    ds = OVShapesDetDataset(data_root=str(split_dir), ann_file='annotations.json',
                            data_prefix=dict(img='images/'), test_mode=True,
                            pipeline=[LoadImageFromFile(),
                                      LoadAnnotations(with_bbox=True, with_mask=True)])
    assert len(ds) == 8
    assert ds.metainfo['novel_classes'] == NOVEL_CLASSES
    assert ds.metainfo['base_classes'] == BASE_CLASSES
    scenes = make_scenes(8, 2, False)
    for i in (0, 5):
        item, scene = ds[i], scenes[i]
        np.testing.assert_array_equal(item['img'][..., ::-1], scene.image)  # BGR on disk
        np.testing.assert_allclose(item['gt_bboxes'].tensor.numpy(), scene.boxes)
        np.testing.assert_array_equal(item['gt_bboxes_labels'], scene.labels)
        np.testing.assert_array_equal(item['gt_masks'].masks.astype(bool), scene.masks)
        assert item['caption'] == scene.caption


def test_ov_coco_metric_scores_ground_truth_as_perfect(split_dir):
    from mmdet.evaluation import OVCocoMetric
    from declip_mm.datasets.ov_shapes import OVShapesDetDataset
    scenes = make_scenes(8, 2, False)
    labels = np.concatenate([s.labels for s in scenes])
    assert np.isin(labels, NOVEL_IDS).any() and (~np.isin(labels, NOVEL_IDS)).any()
    metric = OVCocoMetric(ann_file=str(split_dir / 'annotations.json'), metric='bbox')
    metric.dataset_meta = OVShapesDetDataset.METAINFO
    samples = [dict(img_id=i + 1, ori_shape=(64, 64),
                    pred_instances=dict(bboxes=torch.from_numpy(s.boxes),
                                        scores=torch.ones(len(s.labels)),
                                        labels=torch.from_numpy(s.labels)))
               for i, s in enumerate(scenes)]
    metric.process({}, samples)
    res = metric.evaluate(len(samples))
    assert res['coco/base_ap50'] == pytest.approx(1.0)
    assert res['coco/novel_ap50'] == pytest.approx(1.0)


def test_mmseg_dataset_ignores_background(split_dir):
    from mmcv.transforms import LoadImageFromFile
    from mmseg.datasets.transforms import LoadAnnotations
    from declip_mm.datasets.ov_shapes import OVShapesSegDataset
    ds = OVShapesSegDataset(data_root=str(split_dir),
                            data_prefix=dict(img_path='images', seg_map_path='semantic'),
                            pipeline=[LoadImageFromFile(), LoadAnnotations()])
    assert len(ds) == 8 and ds.metainfo['classes'] == CLASSES
    scene = make_scenes(1, 2, False)[0]
    seg = ds[0]['gt_seg_map']
    expected = np.full((64, 64), 255, np.uint8)
    for label, mask in zip(scene.labels, scene.masks):
        expected[mask] = label
    np.testing.assert_array_equal(seg, expected)


def test_probe_square_widen_hand_case():
    from declip_mm.ovshapes.probe import square_widen
    rois = torch.tensor([[0., 10., 20., 30., 26.]])  # 20 x 6 box centred at (20, 23)
    out = square_widen(rois, 1.3)  # side 26
    torch.testing.assert_close(out, torch.tensor([[0., 7., 10., 33., 36.]]))


def test_probe_breakdown_hand_case():
    from declip_mm.ovshapes.probe import breakdown
    red_ring, red_bar = class_index('red', 'ring'), class_index('red', 'bar')
    blue_ring, green_bar = class_index('blue', 'ring'), class_index('green', 'bar')
    labels = torch.tensor([red_ring, red_bar, blue_ring, green_bar])  # red ring is novel
    pred = torch.tensor([red_ring, red_ring, green_bar, green_bar])
    res = breakdown(pred, labels)
    assert res['all'] == 50.0 and res['novel'] == 100.0
    assert res['base'] == pytest.approx(100 / 3)
    assert res['colour'] == 75.0 and res['shape'] == 50.0  # colours ok: 0, 1, 3; shapes: 0, 3


def test_probe_pool_regions_reads_inside_the_box():
    from declip_mm.ovshapes.probe import pool_regions
    dense = torch.zeros(1, 2, 8, 8)
    dense[0, 0, :, :4] = 1.0  # left half points along channel 0, right half along channel 1
    dense[0, 1, :, 4:] = 1.0
    rois = torch.tensor([[0., 0., 0., 24., 64.], [0., 40., 8., 64., 32.]])
    out = pool_regions(dense, rois, stride=8)
    torch.testing.assert_close(out, torch.tensor([[1., 0.], [0., 1.]]))


def test_probe_foreground_miou_hand_case():
    from declip_mm.ovshapes.probe import MIoUAccumulator
    acc = MIoUAccumulator(num_classes=30)
    semantic = torch.tensor([[[0, 1, 1, 2]]])  # background, class 0 twice, class 1
    pred = torch.tensor([[[1, 0, 1, 1]]])      # background pixel ignored whatever predicted
    acc.update(pred, semantic)
    res = acc.result()
    # class 0: inter 1, union 2 -> 0.5; class 1: inter 1, union 2 -> 0.5
    assert res['miou'] == pytest.approx(50.0)
