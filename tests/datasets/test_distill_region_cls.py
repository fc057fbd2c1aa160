"""Region classification (DeCLIP validation): panoptic regions, transforms, classifier, metric."""
import json

import mmcv
import numpy as np
import pytest
import torch
from mmengine.structures import BaseDataElement

import declip_mm  # noqa: F401
import declip_mm.datasets.distill  # noqa: F401
from declip_mm.evaluation.region_cls import (DeCLIPRegionClsMetric, DeCLIPRegionTextClassifier,
                                             adapt_region_classifier_state, mask_pool,
                                             mask_to_box, masks_to_grid, rgb_to_panoptic_id,
                                             topk_classes)
from declip_mm.utils.errors import CheckpointError, ConfigError

CLASSES = ('person', 'cat', 'wall', 'floor')
METAINFO = dict(classes=CLASSES, thing_classes=CLASSES[:2], stuff_classes=CLASSES[2:])


def write_panoptic(root):
    """One 300 x 451 photo with a cat box (thing), a tiny person (thing, too small), a floor band
    (stuff, id 256 so the G channel matters) and wall elsewhere (stuff)."""
    from skimage import data
    (root / 'img').mkdir()
    (root / 'pan').mkdir()
    mmcv.imwrite(data.chelsea()[..., ::-1], str(root / 'img' / 'cat.jpg'))
    ids = np.full((300, 451), 2, np.int64)
    ids[50:250, 100:300] = 1
    ids[10:15, 10:15] = 3
    ids[280:, :] = 256
    rgb = np.stack([ids % 256, ids // 256 % 256, ids // 65536], -1).astype(np.uint8)
    mmcv.imwrite(rgb[..., ::-1], str(root / 'pan' / 'cat.png'))
    segs = [dict(id=1, category_id=17, bbox=[100, 50, 200, 200], area=40000, iscrowd=0),
            dict(id=2, category_id=130, bbox=[0, 0, 451, 280], area=1, iscrowd=0),
            dict(id=3, category_id=1, bbox=[10, 10, 5, 5], area=25, iscrowd=0),
            dict(id=256, category_id=140, bbox=[0, 280, 451, 20], area=9020, iscrowd=0)]
    ann = dict(images=[dict(id=7, file_name='cat.jpg', height=300, width=451)],
               annotations=[dict(image_id=7, file_name='cat.png', segments_info=segs)],
               categories=[dict(id=1, name='person', isthing=1), dict(id=17, name='cat', isthing=1),
                           dict(id=130, name='wall', isthing=0),
                           dict(id=140, name='floor', isthing=0)])
    (root / 'panoptic.json').write_text(json.dumps(ann))


def pipeline(size=560, grid=35):
    return [dict(type='LoadImageFromFile'), dict(type='DeCLIPLoadPanopticRegions'),
            dict(type='DeCLIPResizePad', size=size),
            dict(type='DeCLIPRegionMasksToGrid', grid=grid), dict(type='PackDeCLIPRegionInputs')]


def build_dataset(root, **kwargs):
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    import declip_mm.evaluation.region_cls  # noqa: F401
    return DATASETS.build(dict(type='DeCLIPCocoPanopticRegionDataset', data_root=str(root),
                               ann_file='panoptic.json', metainfo=METAINFO, test_mode=True,
                               data_prefix=dict(img='img/', seg='pan/'), **kwargs))


def test_panoptic_regions_dataset_and_pipeline(tmp_path):
    write_panoptic(tmp_path)
    ds = build_dataset(tmp_path)
    info = ds.get_data_info(0)
    assert info['seg_map_path'].endswith('pan/cat.png')
    assert [(r['id'], r['label'], r['is_thing']) for r in info['regions']] == \
        [(1, 1, True), (2, 2, False), (3, 0, True), (256, 3, False)]
    ds = build_dataset(tmp_path, pipeline=pipeline())
    out = ds[0]
    sample = out['data_samples']
    assert out['inputs'].shape == (3, 560, 560)
    assert sample.labels.tolist() == [1, 2, 3]                 # the 5x5 person is dropped
    assert sample.is_thing.tolist() == [True, False, False]
    scale = 560 / 451
    canvas_boxes = sample.boxes.numpy() * 560 / scale
    assert np.allclose(canvas_boxes[0], [100, 50, 300, 250], atol=1e-3)   # annotated thing box
    assert np.allclose(canvas_boxes[1], [0, 0, 450, 279], atol=1e-3)      # stuff: mask2box
    assert np.allclose(canvas_boxes[2], [0, 280, 450, 299], atol=1e-3)
    assert sample.masks.shape == (3, 35, 35) and sample.masks.dtype == torch.bool
    rows = round(300 * 35 / 451)   # 23 rows of content, the rest padding
    assert not sample.masks[:, rows:].any()
    assert sample.masks[0, 8, 12] and not sample.masks[0, 1, 1] and sample.masks[1, 1, 1]


def test_panoptic_helpers():
    rgb = np.array([[[1, 0, 0], [0, 1, 0], [3, 2, 1]]], np.uint8)
    assert rgb_to_panoptic_id(rgb).tolist() == [[1, 256, 3 + 512 + 65536]]
    m = np.zeros((6, 8), bool)
    m[2:4, 3:7] = True
    assert mask_to_box(m).tolist() == [3, 2, 6, 3]      # official mask2box: last row / col
    grid = masks_to_grid(np.ones((1, 40, 20), bool), 4)
    assert grid[0].tolist() == [[True, True, False, False]] * 4


def test_mask_pool_and_topk_hand_computed():
    dense = torch.zeros(1, 2, 2, 2)
    dense[0, 0] = torch.tensor([[1.0, 3.0], [5.0, 7.0]])
    dense[0, 1] = torch.tensor([[0.0, 0.0], [2.0, 2.0]])
    masks = [torch.tensor([[[True, True], [False, False]], [[False, False], [True, True]]])]
    feats = mask_pool(dense, masks)
    assert feats.tolist() == [[2.0, 0.0], [6.0, 2.0]]
    # masks on another grid are resized (nearest) to the map
    big = masks[0].repeat_interleave(2, 1).repeat_interleave(2, 2)
    assert torch.equal(mask_pool(dense, [big]), feats)
    emb = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    # cosines of (6, 2): 0.949 with (1, 0), 0.894 with (1, 1); of (1, 3): 0.949 with (0, 1)
    assert topk_classes(feats, emb, 2).tolist() == [[0, 2], [0, 2]]
    assert topk_classes(torch.tensor([[1.0, 3.0]]), emb, 3).tolist() == [[1, 2, 0]]
    assert topk_classes(feats, emb, 5).shape == (2, 3)


def test_text_classifier_from_npy(tmp_path):
    emb = np.eye(4, 8, dtype=np.float32)
    np.save(tmp_path / 'emb.npy', emb)
    clf = DeCLIPRegionTextClassifier(class_embeddings=str(tmp_path / 'emb.npy'), topk=2)
    dense = torch.zeros(1, 8, 4, 4)
    dense[0, 2, :2] = 1.0        # top half: class 2
    dense[0, 3, 2:] = 1.0        # bottom half: class 3
    sample = BaseDataElement(boxes=torch.tensor([[0.0, 0.0, 1.0, 0.5], [0.0, 0.5, 1.0, 1.0]]),
                             masks=torch.zeros(2, 4, 4, dtype=torch.bool))
    sample.masks[0, :2] = True
    sample.masks[1, 2:] = True
    out = clf.predict(dense, [sample])[0]
    assert out.pred_box_topk[:, 0].tolist() == [2, 3]
    assert out.pred_mask_topk[:, 0].tolist() == [2, 3]
    with pytest.raises(ConfigError, match='channels'):
        clf.predict(torch.zeros(1, 4, 4, 4), [sample])
    with pytest.raises(ConfigError, match='exactly one'):
        DeCLIPRegionTextClassifier()


def test_metric_hand_computed():
    metric = DeCLIPRegionClsMetric(topk=(1, 5))
    labels = torch.tensor([0, 0, 1, 2, 2, 3])
    thing = torch.tensor([True, True, True, False, False, False])
    box = torch.tensor([[0, 1], [1, 0], [1, 0], [2, 3], [3, 1], [3, 0]])
    mask = torch.tensor([[1, 0], [1, 0], [0, 1], [2, 0], [2, 0], [0, 2]])
    metric.process({}, [dict(labels=labels[:3], is_thing=thing[:3], pred_box_topk=box[:3],
                             pred_mask_topk=mask[:3]),
                        dict(labels=labels[3:], is_thing=thing[3:], pred_box_topk=box[3:],
                             pred_mask_topk=mask[3:])])
    res = metric.compute_metrics(metric.results)
    # box top-1: thing class0 1/2, class1 1/1 -> 75; stuff class2 1/2, class3 1/1 -> 75
    assert res['box_thing_macc1'] == pytest.approx(75.0)
    assert res['box_stuff_macc1'] == pytest.approx(75.0)
    assert res['box_thing_macc5'] == pytest.approx(100.0)
    assert res['box_stuff_macc5'] == pytest.approx(75.0)       # class2 row [3, 1] misses
    # mask top-1: thing class0 0/2, class1 0/1 -> 0; stuff class2 2/2, class3 0/1 -> 50
    assert res['mask_thing_macc1'] == pytest.approx(0.0)
    assert res['mask_stuff_macc1'] == pytest.approx(50.0)
    assert res['box_acc1'] == pytest.approx(100 * 4 / 6)
    assert res['num_regions'] == 6


def test_checkpoint_layouts_map_to_the_backbone():
    w = torch.zeros(1)
    ens = {'visual.trunk.cls_token': w}
    adapt_region_classifier_state(ens)
    assert set(ens) == {'backbone.visual.trunk.cls_token'}
    distiller = {'student.visual.trunk.cls_token': w, 'teacher.visual.trunk.cls_token': w + 1,
                 'vfm.model.cls_token': w}
    adapt_region_classifier_state(distiller)
    assert set(distiller) == {'backbone.visual.trunk.cls_token'}
    assert distiller['backbone.visual.trunk.cls_token'].item() == 0
    with pytest.raises(CheckpointError):
        adapt_region_classifier_state({'foo.bar': w})


def test_text_classifier_from_a_text_encoder():
    from declip_mm.models.text.text_encoder import DeCLIPTextEncoder
    from declip_mm.testing import TINY_EVA
    torch.manual_seed(0)
    enc_cfg = dict(type='DeCLIPTextEncoder', arch=dict(TINY_EVA), templates='single')
    clf = DeCLIPRegionTextClassifier(text_encoder=enc_cfg, classes=['cat', 'wall; walls'], topk=2)
    emb = clf.class_embeddings(torch.device('cpu'))
    ref = DeCLIPTextEncoder(arch=dict(TINY_EVA), templates='single')
    ref.load_state_dict(clf.text_encoder.state_dict())
    assert emb.shape == (2, 32)
    assert torch.allclose(emb, ref.encode_classes(['cat', 'wall; walls']), atol=1e-5)
    dense = emb[1].view(1, 32, 1, 1).expand(1, 32, 2, 2)      # every token is "wall"
    sample = BaseDataElement(boxes=torch.tensor([[0.0, 0.0, 1.0, 1.0]]),
                             masks=torch.ones(1, 2, 2, dtype=torch.bool))
    assert clf.predict(dense, [sample])[0].pred_box_topk[0, 0].item() == 1
    with pytest.raises(ConfigError, match='classes'):
        DeCLIPRegionTextClassifier(text_encoder=enc_cfg)


def test_text_classifier_reads_dumped_and_fvit_files(tmp_path):
    """Files in declip_mm's format (tools/dump_text_embeddings.py) and CLIPSelf F-ViT's
    ``{name: vector}`` layout: rows are taken by class name, in the order of ``classes``."""
    from declip_mm.vocab import ClassEmbeddings, save_class_embeddings
    emb = torch.eye(3, 4)
    save_class_embeddings(str(tmp_path / 'dump.pt'),
                          ClassEmbeddings(emb, ['cat', 'wall; walls', 'sky'], ['a {}.'], 'plain'))
    torch.save({'sky': emb[2] * 3, 'cat': emb[0], 'wall': emb[1], 'background': torch.ones(4)},
               tmp_path / 'fvit.pt')
    for name in ('dump.pt', 'fvit.pt'):
        clf = DeCLIPRegionTextClassifier(class_embeddings=str(tmp_path / name),
                                         classes=['sky', 'cat'], topk=2)
        got = clf.class_embeddings(torch.device('cpu'))
        assert torch.equal(got, emb[[2, 0]]), name
    clf = DeCLIPRegionTextClassifier(class_embeddings=str(tmp_path / 'dump.pt'))
    assert torch.equal(clf.class_embeddings(torch.device('cpu')), emb)   # file order
    clf = DeCLIPRegionTextClassifier(class_embeddings=str(tmp_path / 'fvit.pt'), classes=['dog'])
    with pytest.raises(ConfigError, match="no entry for \\['dog'\\]"):
        clf.class_embeddings(torch.device('cpu'))
