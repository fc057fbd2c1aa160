"""End to end through mmengine's Runner: the tiny distillation config (the official qq recipe) trains,
validates and writes alpha-ensembled backbones every epoch, and the region-classification config
evaluates one of them with the numbers the training-time validation reported."""
import json
import os.path as osp
import uuid

import mmcv
import numpy as np
import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
TINY_CFG = osp.join(ROOT, 'configs/declip/declip_tiny-eva_tiny-dinov2_1xb2-6e_skimage.py')
REGION_CFG = osp.join(ROOT, 'configs/declip/region-cls_eva02-b16_coco-panoptic.py')


def tiny_train_cfg(work_dir):
    from declip_mm.engine.config_tools import load_config
    cfg = load_config(TINY_CFG)
    cfg.work_dir = str(work_dir)
    cfg.train_dataloader.dataset.times = 1          # 4 photos, batch 2: 2 iterations / epoch
    cfg.train_cfg.max_epochs = 2
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 2
    cfg.param_scheduler[0].end = 2
    cfg.param_scheduler[0].start_factor = 0.5
    cfg.param_scheduler[1].warmup_iters = 2
    # A visualizer name of its own: mmengine keeps visualizers as process-wide singletons, and
    # one made by an earlier test in the same process would log elsewhere.
    cfg.visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')],
                          name=f'declip_distill_test_{uuid.uuid4().hex}')
    return cfg


def write_panoptic(root):
    """One skimage photo, two segments: a 'cat' box (thing) and 'wall' (stuff) elsewhere."""
    from skimage import data
    img = data.chelsea()
    mmcv.imwrite(img[..., ::-1], str(root / 'img' / 'cat.jpg'), auto_mkdir=True)
    ids = np.full(img.shape[:2], 2, np.int64)
    ids[50:250, 100:300] = 1
    rgb = np.stack([ids % 256, ids // 256 % 256, ids // 65536], -1).astype(np.uint8)
    mmcv.imwrite(rgb[..., ::-1], str(root / 'pan' / 'cat.png'), auto_mkdir=True)
    segs = [dict(id=1, category_id=17, bbox=[100, 50, 200, 200], area=40000, iscrowd=0),
            dict(id=2, category_id=130, bbox=[0, 0, 451, 300], area=95300, iscrowd=0)]
    (root / 'pan.json').write_text(json.dumps(dict(
        images=[dict(id=1, file_name='cat.jpg', height=300, width=451)],
        annotations=[dict(image_id=1, file_name='cat.png', segments_info=segs)],
        categories=[dict(id=17, name='cat', isthing=1), dict(id=130, name='wall', isthing=0)])))


def region_cfg(work_dir, data_root, emb_path, tiny_arch):
    from declip_mm.engine.config_tools import load_config
    cfg = load_config(REGION_CFG)
    cfg.work_dir = str(work_dir)
    cfg.model.backbone.arch = tiny_arch
    cfg.model.classifier.class_embeddings = str(emb_path)
    ds = cfg.test_dataloader.dataset
    ds.data_root = str(data_root)
    ds.ann_file = 'pan.json'
    ds.data_prefix = dict(img='img/', seg='pan/')
    ds.metainfo = dict(classes=('cat', 'wall'), thing_classes=('cat',), stuff_classes=('wall',))
    steps = {t.type: t for t in ds.pipeline}
    steps['DeCLIPRegionEvalCrops'].size = 32
    steps['DeCLIPResizePad'].size = 128
    steps['DeCLIPRegionMasksToGrid'].grid = 16
    cfg.test_dataloader.num_workers = 0
    cfg.test_dataloader.persistent_workers = False
    return cfg


def test_tiny_distillation_then_region_classification(tmp_path):
    from mmengine.runner import Runner

    from declip_mm.models.backbones.declip_vit import DeCLIPViT
    write_panoptic(tmp_path / 'coco')
    emb = tmp_path / 'emb.npy'
    np.save(emb, np.random.RandomState(0).randn(2, 32).astype(np.float32))
    cfg = tiny_train_cfg(tmp_path / 'train')
    # validation on the panoptic fixture, as the COCO configs validate (every epoch)
    val = region_cfg(tmp_path / 'val', tmp_path / 'coco', emb, cfg.model.student.arch.to_dict())
    cfg.model.val_classifier = dict(type='DeCLIPRegionTextClassifier',
                                    class_embeddings=str(emb), topk=5)
    cfg.val_dataloader = val.test_dataloader
    cfg.val_evaluator = val.test_evaluator
    cfg.val_cfg = dict(type='ValLoop')
    cfg.train_cfg.val_interval = 1
    runner = Runner.from_cfg(cfg)
    runner.train()
    model = runner.model
    for epoch in (1, 2):
        assert osp.isfile(tmp_path / 'train' / f'declip_backbone_epoch_{epoch}.pth')
    scalars = [json.loads(line) for line in
               open(osp.join(runner.log_dir, 'vis_data', 'scalars.json'))]
    losses = [s for s in scalars if 'loss_content' in s]
    assert len(losses) == 4 and all(np.isfinite(s['loss_context']) for s in losses)
    vals = [s for s in scalars if 'region_cls/num_regions' in s]
    assert len(vals) == 2 and 'region_cls/crop_thing_macc1' in vals[-1]
    # qq recipe: the last block's k_proj never moved
    k = 'visual.trunk.blocks.3.attn.k_proj.weight'
    assert torch.equal(model.student.state_dict()[k], model.teacher.state_dict()[k])

    # the last ensemble is 0.7 * student + 0.3 * teacher, loadable by DeCLIPViT
    ckpt = str(tmp_path / 'train' / 'declip_backbone_epoch_2.pth')
    tiny_arch = cfg.model.student.arch.to_dict()
    backbone = DeCLIPViT(arch=tiny_arch, mode='qq',
                         init_cfg=dict(type='Pretrained', checkpoint=ckpt))
    backbone.init_weights()
    s, t = model.student.state_dict(), model.teacher.state_dict()
    for k, v in backbone.state_dict().items():
        assert torch.allclose(v, 0.7 * s[k] + 0.3 * t[k], atol=1e-6), k

    # region classification of that checkpoint through the test loop, in the training mode
    test_cfg = region_cfg(tmp_path / 'test', tmp_path / 'coco', emb, tiny_arch)
    test_cfg.model.backbone.mode = 'qq'
    test_cfg.load_from = ckpt                      # what tools/test.py CONFIG CKPT does
    test_runner = Runner.from_cfg(test_cfg)
    metrics = test_runner.test()
    loaded = test_runner.model.backbone.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in backbone.state_dict().items())
    assert metrics['region_cls/num_regions'] == 2
    for key in ('box_thing_macc1', 'box_stuff_macc1', 'mask_thing_macc1', 'mask_stuff_macc1'):
        assert metrics[f'region_cls/{key}'] in (0.0, 100.0)
    # top-5 over two classes is always right
    assert metrics['region_cls/box_thing_macc5'] == pytest.approx(100.0)
    # the epoch-2 validation scored these same (ensembled) weights: the same numbers
    for key, value in metrics.items():
        assert vals[-1][key] == pytest.approx(value), key
