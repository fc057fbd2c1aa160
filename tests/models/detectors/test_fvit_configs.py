"""The OV-COCO / OV-LVIS / example configs parse to the documented settings, and the
'add DeCLIP to a stock mmdet config' example builds and trains (tiny backbone swapped in)."""
import os

import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def load(rel):
    from mmengine.config import Config
    return Config.fromfile(os.path.join(ROOT, rel))


def pipeline_sizes(cfg):
    """Crop size, test resize, and the side images are padded to (after normalisation)."""
    train = {t['type']: t for t in cfg.train_dataloader.dataset.pipeline}
    test = {t['type']: t for t in cfg.test_dataloader.dataset.pipeline}
    assert 'Pad' not in train and 'Pad' not in test  # padding: data preprocessor, value 0
    side = cfg.model.data_preprocessor.pad_size_divisor
    return train['RandomCrop']['crop_size'], test['Resize']['scale'], (side, side)


@pytest.mark.parametrize('rel,size,arch,indices,beta,t_vlm,epochs', [
    ('configs/ovcoco/declip_fvit.py', (640, 640), 'EVA02-CLIP-B-16', (3, 5, 7, 11), 0.8, 75.0, 3),
    ('configs/ovcoco/declip-fvit_eva02-l14_fpn_8xb8-3e_ov-coco-896.py', (896, 896),
     'EVA02-CLIP-L-14-336', (6, 10, 14, 23), 0.8, 75.0, 3),
    ('configs/ovlvis/declip-fvit_eva02-b16_fpn_8xb8-48e_ov-lvis-1024.py', (1024, 1024),
     'EVA02-CLIP-B-16', (3, 5, 7, 11), 0.6, 50.0, 48),
    ('configs/ovlvis/declip-fvit_eva02-l14_fpn_8xb8-48e_ov-lvis-896.py', (896, 896),
     'EVA02-CLIP-L-14-336', (6, 10, 14, 23), 0.4, 50.0, 48),
])
def test_benchmark_configs(rel, size, arch, indices, beta, t_vlm, epochs):
    cfg = load(rel)
    m = cfg.model
    assert m.type == 'DeCLIPFViT' and m.backbone.type == 'DeCLIPViT'
    assert m.backbone.arch == arch and m.text_encoder.arch == arch
    assert tuple(m.backbone.out_indices) == indices and m.backbone.mode == 'csa'
    assert m.neck[0].type == 'DeCLIPPyramidAdapter' and m.neck[1].type == 'FPN'
    assert m.neck[1].out_channels == 256 and m.neck[1].num_outs == 5
    head = m.roi_head.bbox_head
    assert (head.type, head.alpha, head.beta, head.vlm_temperature, head.temperature) == \
        ('DeCLIPOVBBoxHead', 0.1, beta, t_vlm, 50.0)
    assert head.num_shared_convs == 4 and head.num_shared_fcs == 2 and head.reg_class_agnostic
    # F-ViT's head: width = text dim, one cls FC whose ReLU output is the region embedding,
    # one reg FC, the text embedding of "background"
    embed = 512 if 'B-16' in arch else 768
    assert (head.region_embedding, head.fc_out_channels, head.num_cls_fcs, head.num_reg_fcs,
            head.background, head.embed_dim) == ('cls_fc', embed, 1, 1, 'text', embed)
    assert m.text_encoder.templates == 'fvit'
    pre = m.data_preprocessor
    assert (pre.mean, pre.std, pre.bgr_to_rgb) == ([123.675, 116.28, 103.53],
                                                   [58.395, 57.12, 57.375], True)
    assert m.test_cfg.rpn.nms_pre == 2000 and m.test_cfg.rpn.max_per_img == 1000
    assert cfg.optim_wrapper.loss_scale == 512.0 and cfg.auto_scale_lr.enable
    patch = 16 if 'B-16' in arch else 14
    assert m.roi_head.vlm_roi_extractor.featmap_strides == [patch]
    assert m.roi_head.vlm_roi_extractor.roi_layer.output_size == 1
    assert pipeline_sizes(cfg) == (size, size, size)
    assert cfg.train_cfg.max_epochs == epochs and cfg.train_dataloader.batch_size == 8
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    assert (cfg.optim_wrapper.optimizer.lr, cfg.optim_wrapper.optimizer.weight_decay) == \
        (1e-4, 0.1)
    assert cfg.optim_wrapper.clip_grad.max_norm == 1.0
    assert cfg.param_scheduler[0].end == 250 and not cfg.param_scheduler[0].by_epoch
    assert cfg.auto_scale_lr.base_batch_size == 64
    assert cfg.custom_imports.imports == ['declip_mm']
    if 'ovlvis' in rel:
        assert cfg.param_scheduler[1].milestones == [32, 44]
        assert m.roi_head.mask_head.class_agnostic and head.bg_weight == 0.9
        assert cfg.val_evaluator.type == 'LVISMetric' and 'segm' in cfg.val_evaluator.metric
        assert (m.vocabulary, m.base_classes) == ('lvis_v1', 'lvis_v1_base')
        assert m.rpn_head.type == 'DeCLIPNormRPNHead' and m.rpn_head.norm_cfg.type == 'SyncBN'
        assert m.train_cfg.rcnn.assigner.match_low_quality
        assert m.test_cfg.rcnn.max_per_img == 300 and m.test_cfg.rcnn.score_thr == 1e-4
    else:
        assert head.bg_weight == 0.6 and cfg.val_evaluator.type == 'OVCocoMetric'
        assert (m.vocabulary, m.base_classes) == ('ov_coco', 'ov_coco_base')
        assert len(cfg.param_scheduler) == 1  # no decay on OV-COCO
        assert m.rpn_head.type == 'RPNHead' and not m.train_cfg.rcnn.assigner.match_low_quality


def test_clip_baseline_is_clipselfs_original():
    base, clip = load('configs/ovcoco/declip_fvit.py'), \
        load('configs/ovcoco/fvit_eva02-b16_fpn_8xb8-3e_ov-coco.py')
    assert clip.model.backbone.mode == 'maskclip'  # CLIPSelf's forward_without_attn
    b, v = dict(base.model.backbone), dict(clip.model.backbone)
    assert {k for k in b if b[k] != v[k]} == {'mode', 'init_cfg'}
    assert base.model.roi_head == clip.model.roi_head


@pytest.mark.parametrize('name,vocab,alpha,dataset,metric', [
    ('coco', 'coco', 0.2, 'CocoDataset', 'CocoMetric'),
    ('objects365v1', 'objects365v1', 0.3, 'Objects365V1Dataset', 'CocoMetric'),
    ('voc', 'voc', 0.3, 'VOCDataset', 'VOCMetric'),
])
def test_transfer_configs(name, vocab, alpha, dataset, metric):
    cfg = load(f'configs/transfer/declip-fvit_eva02-l14_ov-lvis-to-{name}.py')
    m = cfg.model
    assert (m.vocabulary, m.test_vocabulary) == ('lvis_v1', vocab)  # swapped at test time
    head = m.roi_head.bbox_head
    assert (head.type, head.alpha, head.test_temperature, head.vlm_temperature) == \
        ('DeCLIPOVTransferBBoxHead', alpha, 50.0, 120.0)
    assert m.roi_head.mask_head is None and m.backbone.arch == 'EVA02-CLIP-L-14-336'
    assert cfg.test_dataloader.dataset.type == dataset
    assert cfg.test_evaluator.type == metric


def test_stock_config_example_builds_and_trains():
    import declip_mm  # noqa: F401
    from mmdet.registry import MODELS
    from mmdet.testing import demo_mm_inputs
    from mmengine.registry import init_default_scope

    from declip_mm.testing import TINY_EVA
    init_default_scope('mmdet')
    cfg = load('configs/examples/faster-rcnn_declip-eva02-b16_fpn_1x_coco.py')
    assert cfg.train_dataloader.dataset.type == 'CocoDataset'  # stock data untouched
    assert cfg.model.roi_head.bbox_head.fc_out_channels == 1024  # stock head sizes kept
    m = cfg.model
    # swap the EVA02-B/16 for the tiny tower (patch 8, width 64, text dim 32), random weights
    m.backbone.update(arch=TINY_EVA, init_cfg=None, out_indices=(0, 1, 2, 3))
    m.text_encoder.update(arch=TINY_EVA, init_cfg=None, templates='single')
    m.neck[0].in_channels = 64
    m.neck[1].in_channels = [64] * 4
    m.rpn_head.anchor_generator.strides = [2, 4, 8, 16, 32]
    m.roi_head.bbox_roi_extractor.featmap_strides = [2, 4, 8, 16]
    m.roi_head.vlm_roi_extractor.update(out_channels=32, featmap_strides=[8])
    m.roi_head.bbox_head.embed_dim = 32
    torch.manual_seed(0)
    model = MODELS.build(m)
    model.init_weights()
    assert model.roi_head.bbox_head.num_classes == 80
    packed = demo_mm_inputs(batch_size=1, image_shapes=[(3, 64, 96)], num_classes=80)
    losses = model(**model.data_preprocessor(packed, True), mode='loss')
    assert torch.isfinite(losses['loss_cls'])
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(packed, False)
        pred = model(**data, mode='predict')[0].pred_instances
    assert set(pred.label_names) <= set(model.vocabulary.names)
