"""The real-photo set (declip_mm/assets/real_photos): hand annotations and the odd-sized photos
pushed through the detection (F-ViT) and segmentation (training-free, CAT-Seg) pipelines with
tiny random models. Nothing is downloaded: the quokka is used only if its wheel is cached."""
import os

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIZES = {'astronaut.png': (512, 512), 'coffee.png': (400, 600), 'chelsea.png': (300, 451),
         'rocket.png': (427, 640), 'quokka.jpg': (643, 960)}
BASE = ('person', 'cup', 'saucer', 'cat', 'tower', 'quokka')  # the others play novel


@pytest.fixture(scope='module')
def photos(tmp_path_factory):
    """The photos written to a temporary folder (no download; quokka if its wheel is cached)."""
    from declip_mm.assets.real_photos import materialize_real_photos
    root = str(tmp_path_factory.mktemp('real_photos'))
    ann = materialize_real_photos(root, download=False)
    return root, ann


def coco(ann_file: str) -> dict:
    from declip_mm.assets.real_photos import load_annotations
    return load_annotations(ann_file)


# ---------------------------------------------------------------------------- annotations
def test_hand_annotations_are_consistent():
    """Every polygon lies in its image and its tight box matches the hand box within 6 px."""
    from declip_mm.assets.real_photos import load_annotations, polygon_mask
    data = load_annotations()
    images = {im['id']: im for im in data['images']}
    assert {im['file_name']: (im['height'], im['width']) for im in images.values()} == SIZES
    assert len(data['annotations']) == 14 and len(data['categories']) == 11
    assert len({a['id'] for a in data['annotations']}) == 14
    for ann in data['annotations']:
        im = images[ann['image_id']]
        pts = np.asarray(ann['segmentation'][0]).reshape(-1, 2)
        assert len(pts) >= 4
        assert pts[:, 0].min() >= 0 and pts[:, 0].max() <= im['width']
        assert pts[:, 1].min() >= 0 and pts[:, 1].max() <= im['height']
        x, y, w, h = ann['bbox']
        tight = [pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()]
        assert np.abs(np.subtract(tight, [x, y, x + w, y + h])).max() <= 6, ann
        mask = polygon_mask(ann['segmentation'][0], im['height'], im['width'])
        assert abs(mask.sum() - ann['area']) <= 0.02 * ann['area'] + 50


def test_materialized_photos_and_labels(photos):
    """The photos have their sizes, and the label maps name hand-checked points correctly."""
    import cv2
    from declip_mm.assets.real_photos import semantic_maps
    root, ann = photos
    data = coco(ann)
    assert len(data['images']) in (4, 5)  # 5 with the cached quokka wheel
    for im in data['images']:
        img = cv2.imread(os.path.join(root, 'images', im['file_name']))
        assert img.shape[:2] == SIZES[im['file_name']]
    names = {c['id']: c['name'] for c in data['categories']}
    maps = semantic_maps(root)
    # (file, x, y, expected class) read off the photos by eye
    for file, x, y, name in [('astronaut.png', 225, 100, 'person'),  # her face
                             ('astronaut.png', 20, 60, 'flag'),
                             ('astronaut.png', 420, 120, 'space shuttle'),
                             ('astronaut.png', 400, 450, 'helmet'),
                             ('coffee.png', 290, 150, 'cup'),      # the coffee's surface
                             ('coffee.png', 365, 290, 'spoon'),    # the spoon's bowl
                             ('coffee.png', 130, 300, 'saucer'),
                             ('chelsea.png', 200, 150, 'cat'),
                             ('rocket.png', 321, 300, 'rocket'),
                             ('rocket.png', 60, 200, 'tower')]:
        assert names[int(maps[file][y, x])] == name, (file, x, y)
    assert maps['coffee.png'][380, 580] == 0  # the table is background
    assert maps['rocket.png'][60, 250] == 0   # the sky


def test_quokka_comes_with_imgaug_box_and_polygon():
    from declip_mm.assets.real_photos import load_annotations
    data = load_annotations()
    quokka = [a for a in data['annotations'] if a['image_id'] == 5]
    assert len(quokka) == 1 and quokka[0]['bbox'] == [148.0, 50.0, 402.0, 592.0]
    assert len(quokka[0]['segmentation'][0]) == 2 * 38


def test_quokka_is_skipped_without_the_wheel(tmp_path):
    from declip_mm.assets.real_photos import materialize_real_photos
    ann = materialize_real_photos(str(tmp_path), cache_dir=str(tmp_path / 'empty'),
                                  download=False)
    data = coco(ann)
    assert [im['file_name'] for im in data['images']] == list(SIZES)[:4]
    assert len(data['annotations']) == 13 and not (tmp_path / 'images' / 'quokka.jpg').exists()


# ---------------------------------------------------------------------------- detection
def det_pipelines(size: int = 128):
    """The OV-COCO F-ViT config's train / test pipelines, at ``size`` instead of 640."""
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'ovcoco', 'declip_fvit.py'))
    train, test = cfg.train_pipeline, cfg.test_pipeline
    train[2]['scale'] = train[3]['crop_size'] = (size, size)
    test[1]['scale'] = (size, size)
    return train, test


def test_real_photos_through_fvit_train_and_test_pipelines(photos):
    """One training step on the photos, then predictions mapped back to each odd size."""
    from mmdet.registry import DATASETS, MODELS
    from mmengine.registry import init_default_scope

    import declip_mm  # noqa: F401
    from declip_mm.testing.fvit import tiny_fvit_cfg
    init_default_scope('mmdet')
    root, ann = photos
    names = tuple(c['name'] for c in coco(ann)['categories'])
    train_pipe, test_pipe = det_pipelines()
    ds = DATASETS.build(dict(type='CocoDataset', data_root=root + '/', ann_file='annotations.json',
                             data_prefix=dict(img='images/'), metainfo=dict(classes=names),
                             pipeline=[]))
    torch.manual_seed(0)
    model = MODELS.build(tiny_fvit_cfg(vocabulary=names, base_classes=BASE))
    model.init_weights()
    train = Compose(train_pipe)
    batch = pseudo_collate([train(ds.get_data_info(i)) for i in range(len(ds))])
    model.train()
    losses = model(**model.data_preprocessor(batch, True), mode='loss')
    total, log_vars = model.parse_losses(losses)
    assert torch.isfinite(total) and log_vars['loss_cls'] > 0 and log_vars['loss_rpn_cls'] > 0
    total.backward()
    assert max(max(x.shape[-2:]) for x in batch['inputs']) <= 128  # padded by the model
    model.eval()
    test = Compose(test_pipe)
    with torch.no_grad():
        for i in range(len(ds)):
            info = ds.get_data_info(i)
            data = test(info)
            h, w = info['height'], info['width']
            assert data['data_samples'].ori_shape == (h, w)
            pred = model.test_step(pseudo_collate([data]))[0].pred_instances
            boxes = pred.bboxes
            assert len(boxes) > 0
            # the config pads in the data preprocessor (after normalisation, as F-ViT), so
            # img_shape is the resized photo and boxes are clipped to the photo itself
            assert boxes.min() >= 0 and boxes[:, 0::2].max() <= w + 1e-3
            assert boxes[:, 1::2].max() <= h + 1e-3
            # boxes come back at the photo's scale (the model saw it at 128 px)
            assert boxes[:, 2:].max() > 128 * 1.5


def test_polygons_decode_to_masks_in_mmdet(photos):
    from mmdet.datasets.transforms import LoadAnnotations
    from mmdet.registry import DATASETS
    root, ann = photos
    data = coco(ann)
    ds = DATASETS.build(dict(type='CocoDataset', data_root=root + '/', ann_file='annotations.json',
                             data_prefix=dict(img='images/'), pipeline=[],
                             metainfo=dict(classes=tuple(c['name'] for c in data['categories']))))
    load = LoadAnnotations(with_bbox=True, with_mask=True)
    areas = {a['id']: a['area'] for a in data['annotations']}
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        out = load(dict(info, ori_shape=(info['height'], info['width'])))
        masks = out['gt_masks'].to_ndarray()
        assert masks.shape[1:] == (info['height'], info['width'])
        assert len(masks) == len(info['instances'])
        image_id = info['img_id']
        expected = sorted(areas[a['id']] for a in data['annotations']
                          if a['image_id'] == image_id)
        got = sorted(float(m.sum()) for m in masks)
        assert np.allclose(got, expected, rtol=0.03, atol=60)


# ---------------------------------------------------------------------------- segmentation
def test_real_photos_through_training_free_segmentor(photos):
    """The OV-Shapes training-free config's pipeline (short side 64, 64 px windows): labels at
    each photo's original size, drawn from the given words."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import declip_mm  # noqa: F401
    from declip_mm.testing import TINY_EVA
    init_default_scope('mmseg')
    root, ann = photos
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'ovshapes',
                                       'seg_training-free_tiny-declip_ovshapes.py'))
    model_cfg = cfg.model
    model_cfg.backbone.update(arch=TINY_EVA, init_cfg=None)
    model_cfg.text_encoder.update(arch=TINY_EVA, init_cfg=None)
    torch.manual_seed(0)
    model = MODELS.build(model_cfg).eval()
    model.set_vocabulary(['person', 'cup; mug', 'cat', 'rocket', 'sky'])
    pipe = Compose([t for t in cfg.test_pipeline if t['type'] != 'LoadAnnotations'])
    for im in coco(ann)['images']:
        data = pipe(dict(img_path=os.path.join(root, 'images', im['file_name'])))
        assert min(data['inputs'].shape[-2:]) == 64
        sample = model.test_step(pseudo_collate([data]))[0]
        labels = sample.pred_sem_seg.data
        assert tuple(labels.shape[-2:]) == (im['height'], im['width'])
        assert labels.min() >= 0 and labels.max() <= 4
        probs = sample.seg_logits.data
        # softmax over the 6 names; 'cup; mug' keeps the larger of its two probabilities
        assert probs.shape[0] == 5 and probs.min() >= 0 and probs.sum(0).max() <= 1 + 1e-4


def test_real_photos_through_catseg(photos, tmp_path):
    """CAT-Seg (tiny towers): a training step on random crops of the photos with their
    polygon label maps, then whole-photo predictions at the original sizes."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    from PIL import Image

    import declip_mm  # noqa: F401
    from declip_mm.assets.real_photos import semantic_maps
    from declip_mm.testing import TINY_EVA
    init_default_scope('mmseg')
    root, ann = photos
    data = coco(ann)
    os.makedirs(tmp_path / 'labels')
    for name, sem in semantic_maps(root).items():
        Image.fromarray(sem).save(tmp_path / 'labels' / (os.path.splitext(name)[0] + '.png'))
    classes = ('background',) + tuple(c['name'] for c in data['categories'])
    cfg = Config.fromfile(os.path.join(
        ROOT, 'configs', 'segmentation', 'catseg',
        'catseg_declip-eva02-b16_4xb1-80k_coco-stuff171-384x384.py'))
    m = cfg.model
    m.data_preprocessor.size = (64, 64)
    m.backbone.update(arch=TINY_EVA, out_indices=(1, 2), init_cfg=None)
    m.text_encoder.update(arch=TINY_EVA, init_cfg=None)
    m.neck.update(embed_dim=32, hidden_dim=16, num_heads=2, window_size=4,
                  appearance_guidance_dim=8, text_guidance_dim=8)
    m.decode_head.update(in_channels=16, channels=8, clip_width=64, decoder_dims=(16, 8),
                         guidance_dims=(16, 8), guidance_proj_dims=(4, 2),
                         num_classes=len(classes))
    m.update(train_class_names=list(classes), clip_resolution=(64, 64),
             test_cfg=dict(crop_size=64, stride=32, out_size=96))
    torch.manual_seed(0)
    model = MODELS.build(m)
    train_pipe = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                  dict(type='RandomResize', scale=(160, 64), ratio_range=(0.8, 1.2),
                       keep_ratio=True),
                  dict(type='RandomCrop', crop_size=(64, 64), cat_max_ratio=1.0),
                  dict(type='RandomFlip', prob=0.5), dict(type='PackSegInputs')]
    pipe = Compose(train_pipe)
    items = [dict(img_path=os.path.join(root, 'images', im['file_name']),
                  seg_map_path=str(tmp_path / 'labels' / (os.path.splitext(im['file_name'])[0]
                                                          + '.png')),
                  reduce_zero_label=False, seg_fields=[]) for im in data['images']]
    batch = pseudo_collate([pipe(item) for item in items])
    for sample in batch['data_samples']:
        assert set(np.unique(sample.gt_sem_seg.data.numpy())) <= set(range(len(classes))) | {255}
    model.train()
    losses = model(**model.data_preprocessor(batch, True), mode='loss')
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total) and total > 0
    total.backward()
    model.eval()
    test_pipe = Compose([dict(type='LoadImageFromFile'), dict(type='PackSegInputs')])
    with torch.no_grad():
        for im in data['images']:
            d = test_pipe(dict(img_path=os.path.join(root, 'images', im['file_name'])))
            out = model.test_step(pseudo_collate([d]))[0]
            assert tuple(out.pred_sem_seg.data.shape[-2:]) == (im['height'], im['width'])
