"""The pieces behind the tools' one-line errors, on hand-made inputs (no runner)."""
import pytest
import torch

from declip_mm.engine.config_checks import edit_distance, likely_typo
from declip_mm.engine.user_errors import (explain, locate, split_build_chain,
                                          strip_worker_traceback)
from declip_mm.utils.errors import ConfigError

CFG = dict(model=dict(type='FasterRCNN', backbone=dict(type='DeCLIPViT', mode='csa'),
                      roi_head=dict(type='StandardRoIHead',
                                    bbox_head=dict(type='Shared2FCBBoxHead'))),
           train_dataloader=dict(dataset=dict(type='CocoDataset', pipeline=[
               dict(type='LoadImageFromFile'), dict(type='mmdet.Resize', scale=(64, 64))])))


def test_edit_distance_and_typos():
    assert edit_distance('train_cfg', 'trian_cfg') == 1  # transposition
    assert edit_distance('kitten', 'sitting') == 3
    assert likely_typo('train_cfgg') == 'train_cfg'
    assert likely_typo('val_evalutor') == 'val_evaluator'
    assert likely_typo('optim_wraper') == 'optim_wrapper'
    for helper in ('models', 'data_root', 'train_pipeline', 'conv_cfg', 'backend_args'):
        assert likely_typo(helper) is None, helper


def test_locate_follows_the_type_chain():
    assert locate(CFG, ['FasterRCNN', 'DeCLIPViT']) == 'model.backbone'
    assert locate(CFG, ['FasterRCNN', 'StandardRoIHead', 'Shared2FCBBoxHead']) == \
        'model.roi_head.bbox_head'
    assert locate(CFG, ['CocoDataset', 'Resize']) == 'train_dataloader.dataset.pipeline[1]'
    assert locate(CFG, ['Nowhere']) is None


def test_message_shapes():
    chain, inner = split_build_chain('class `FasterRCNN` in mmdet/models/x.py: class `DeCLIPViT` '
                                     'in declip_mm/models/backbones/declip_vit.py: bad mode')
    assert chain == [('FasterRCNN', 'mmdet.models.x'),
                     ('DeCLIPViT', 'declip_mm.models.backbones.declip_vit')]
    assert inner == 'bad mode'
    worker = ('Caught DataError in DataLoader worker process 0.\nOriginal Traceback (most '
              'recent call last):\n  File "x.py", line 1\n'
              'declip_mm.utils.errors.DataError: broken a.png\n')
    assert strip_worker_traceback(worker) == 'broken a.png'


def _build(cfg):
    from mmengine.registry import MODELS
    return MODELS.build(cfg)


def test_explain_build_errors():
    from declip_mm.testing import TINY_VIT
    cfg = dict(model=dict(type='DeCLIPViT', arch=TINY_VIT, modee='csa'))
    with pytest.raises(TypeError) as err:
        _build(cfg['model'])
    user = explain(err.value, cfg)
    assert isinstance(user, ConfigError)
    assert str(user) == "model: unknown key 'modee' for DeCLIPViT (did you mean 'mode'?)"
    cfg = dict(model=dict(type='DeCLIPViT', arch=TINY_VIT, mode='bogus'))
    with pytest.raises(ValueError) as err:
        _build(cfg['model'])
    assert str(explain(err.value, cfg)).startswith("model: DeCLIPViT: unknown mode 'bogus'")


def test_bugs_keep_their_traceback():
    try:
        [].missing_method()
    except AttributeError as err:
        assert explain(err) is None
    try:
        torch.zeros(2) + torch.zeros(3)
    except RuntimeError as err:
        assert explain(err) is None


