"""DeCLIPFViT end to end on a tiny DeCLIPViT: training step, prediction, vocabulary swap,
fusion switch, checkpoint and config errors."""
import copy

import pytest
import torch

from declip_mm.testing.fvit import tiny_fvit_cfg

from declip_mm.utils.errors import CheckpointError, ConfigError


def build(cfg=None):
    import declip_mm  # noqa: F401  (registers)
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(cfg or tiny_fvit_cfg())
    model.init_weights()
    return model


@pytest.fixture(scope='module')
def tiny_model():
    return build()


def batch(model, training, num_classes=4, texts=None, with_mask=False):
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(1)
    packed = demo_mm_inputs(batch_size=2, image_shapes=[(3, 96, 96), (3, 80, 96)],
                            num_items=[2, 3], num_classes=num_classes, texts=texts,
                            with_mask=with_mask)
    return model.data_preprocessor(packed, training)


def test_training_step_updates_heads_not_backbone(tiny_model):
    model = copy.deepcopy(tiny_model).train()
    data = batch(model, True)
    losses = model(**data, mode='loss')
    for key in ('loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'acc'):
        assert key in losses
    total = sum(v for k, v in losses.items() if 'loss' in k
                for v in (v if isinstance(v, list) else [v]))
    assert torch.isfinite(total)
    total.backward()
    head = model.roi_head.bbox_head
    assert head.temperature.grad is not None and head.bg_embedding.grad is not None
    assert model.neck[0].adapters[0][0].weight.grad is not None
    assert all(p.grad is None and not p.requires_grad for p in model.backbone.parameters())
    assert all(p.grad is None for p in model.vocabulary.parameters())
    assert head.base_mask.tolist() == [True, True, False, False]  # dog, cat novel
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    before = model.neck[1].fpn_convs[0].conv.weight.clone()
    opt.step()
    assert not torch.equal(before, model.neck[1].fpn_convs[0].conv.weight)


def test_predict_and_vocabulary_swap(tiny_model):
    model = copy.deepcopy(tiny_model).eval()
    data = batch(model, False)
    with torch.no_grad():
        out = model(**data, mode='predict')
    pred = out[0].pred_instances
    assert len(pred) > 0 and pred.bboxes.shape[1] == 4
    assert set(pred.label_names) <= {'person', 'car', 'dog', 'cat'}
    assert int(pred.labels.max()) < 4

    words = ['zebra', 'red kite', 'oven', 'toaster', 'giraffe', 'tree']
    model.set_vocabulary(words)
    with torch.no_grad():
        out = model(**batch(model, False), mode='predict')
    pred = out[0].pred_instances
    assert set(pred.label_names) <= set(words) and int(pred.labels.max()) < len(words)
    assert model.roi_head.bbox_head.base_mask.tolist() == [False] * len(words)  # all novel
    model.set_vocabulary(None)
    with torch.no_grad():
        pred = model(**batch(model, False), mode='predict')[0].pred_instances
    assert set(pred.label_names) <= {'person', 'car', 'dog', 'cat'}


def test_vocabulary_from_data_sample_text(tiny_model):
    """mmdet's open-vocabulary convention: the samples' ``text`` decides the classes."""
    model = copy.deepcopy(tiny_model).eval()
    data = batch(model, False, texts=['sofa . lamp', 'sofa . lamp'])
    with torch.no_grad():
        pred = model(**data, mode='predict')[0].pred_instances
    assert set(pred.label_names) <= {'sofa', 'lamp'} and int(pred.labels.max()) < 2


def test_fusion_switch(tiny_model):
    """alpha = beta = 0 gives the detector's own scores; the default weights change them."""
    model = copy.deepcopy(tiny_model).eval()
    head, extractor = model.roi_head.bbox_head, model.roi_head.vlm_roi_extractor
    scores = []
    for vlm, alpha, beta in ((None, 0.1, 0.8), (extractor, 0.0, 0.0), (extractor, 0.1, 0.8)):
        model.roi_head.vlm_roi_extractor, head.alpha, head.beta = vlm, alpha, beta
        with torch.no_grad():
            pred = model(**batch(model, False), mode='predict')[0].pred_instances
        scores.append(pred.scores)
    torch.testing.assert_close(scores[0], scores[1])
    assert scores[2].shape != scores[0].shape or not torch.allclose(scores[2], scores[0])


def test_mask_rcnn_variant():
    """OV-LVIS flavour: class-agnostic FCN mask head next to the open-vocabulary boxes."""
    cfg = tiny_fvit_cfg()
    cfg.roi_head.update(
        mask_roi_extractor=dict(type='SingleRoIExtractor',
                                roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
                                out_channels=32, featmap_strides=[2, 4, 8, 16]),
        mask_head=dict(type='FCNMaskHead', num_convs=2, in_channels=32, conv_out_channels=16,
                       class_agnostic=True,
                       loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0)))
    cfg.train_cfg.rcnn.mask_size = 28
    cfg.test_cfg.rcnn.mask_thr_binary = 0.5
    model = build(cfg).train()
    assert model.roi_head.mask_head.num_classes == 4
    losses = model(**batch(model, True, with_mask=True), mode='loss')
    assert torch.isfinite(losses['loss_mask'])
    model.eval()
    with torch.no_grad():
        pred = model(**batch(model, False, with_mask=True), mode='predict')[0].pred_instances
    assert pred.masks.shape[0] == len(pred) and pred.masks.shape[1:] == (96, 96)


def test_checkpoint_round_trip_and_wrong_architecture(tmp_path, tiny_eva, tiny_model):
    from mmengine.runner import load_checkpoint
    model = tiny_model
    path = str(tmp_path / 'ckpt.pth')
    torch.save({'state_dict': model.state_dict()}, path)
    twin = build()
    torch.nn.init.zeros_(twin.roi_head.bbox_head.fc_cls.weight)
    load_checkpoint(twin, path, map_location='cpu')
    torch.testing.assert_close(twin.roi_head.bbox_head.fc_cls.weight,
                               model.roi_head.bbox_head.fc_cls.weight)
    wide = copy.deepcopy(tiny_eva)
    wide['vision_cfg'] = dict(wide['vision_cfg'], width=32)
    cfg = tiny_fvit_cfg()
    cfg['backbone']['arch'] = wide
    cfg['neck'][0]['in_channels'] = 32
    cfg['neck'][1]['in_channels'] = [32] * 4
    other = build(cfg)
    with pytest.raises(CheckpointError, match='does not fit this DeCLIPFViT'):
        load_checkpoint(other, path, map_location='cpu')


def test_config_errors(tmp_path, tiny_model):
    cfg = tiny_fvit_cfg()
    cfg['roi_head']['vlm_roi_extractor']['featmap_strides'] = [16]
    with pytest.raises(ConfigError, match='patch size'):
        build(cfg)
    cfg = tiny_fvit_cfg()
    cfg['roi_head']['bbox_head']['embed_dim'] = 16
    cfg['roi_head']['vlm_roi_extractor']['out_channels'] = 16
    with pytest.raises(ConfigError, match='embed_dim'):
        build(cfg)
    with pytest.raises(ConfigError, match='class names file not found'):
        build(tiny_fvit_cfg(vocabulary=str(tmp_path / 'classes.txt'), base_classes=None))
    with pytest.raises(ConfigError, match='empty'):
        build(tiny_fvit_cfg(vocabulary=[], base_classes=None))
    with pytest.raises(ConfigError, match='empty'):
        copy.deepcopy(tiny_model).set_vocabulary([])
