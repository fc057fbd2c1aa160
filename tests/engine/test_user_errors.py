"""The pieces behind the tools' one-line errors, on hand-made inputs (no runner)."""
import cv2
import numpy as np
import pytest
import torch

from declip_mm.engine.config_checks import edit_distance, likely_typo
from declip_mm.engine.image_loading import DeCLIPLoadImageFromFile, image_bytes_problem
from declip_mm.engine.user_errors import (explain, locate, split_build_chain,
                                          strip_worker_traceback)
from declip_mm.utils.errors import ConfigError, DataError

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


def test_image_bytes_checks(tmp_path, monkeypatch):
    from PIL import ImageFile
    from skimage import data
    img = np.ascontiguousarray(data.astronaut()[::4, ::4, ::-1])
    png = cv2.imencode('.png', img)[1].tobytes()
    jpg = cv2.imencode('.jpg', img)[1].tobytes()
    assert image_bytes_problem(png) is None and image_bytes_problem(jpg) is None
    assert image_bytes_problem(b'') == 'the file is empty'
    assert 'PNG file is truncated' in image_bytes_problem(png[:len(png) // 2])
    cut = jpg[:int(len(jpg) * 0.6)]
    assert 'JPEG file is truncated' in image_bytes_problem(cut)
    # Pillow set to tolerate truncation (a global flag other libraries set) decodes it without
    # error, grey rows and all: the byte check is what catches it.
    import mmcv
    monkeypatch.setattr(ImageFile, 'LOAD_TRUNCATED_IMAGES', True)
    assert mmcv.imfrombytes(cut, backend='pillow').shape == img.shape
    path = tmp_path / 'bad.jpg'
    path.write_bytes(cut)
    for backend in ('cv2', 'pillow'):
        with pytest.raises(DataError, match=f'corrupt or unreadable image {path}: the JPEG'):
            DeCLIPLoadImageFromFile(imdecode_backend=backend)(dict(img_path=str(path)))
    assert DeCLIPLoadImageFromFile(on_error='skip')(dict(img_path=str(path))) is None
    good = tmp_path / 'good.png'
    good.write_bytes(png)
    out = DeCLIPLoadImageFromFile()(dict(img_path=str(good)))
    assert out['img'].shape == img.shape and out['ori_shape'] == img.shape[:2]
    assert np.array_equal(out['img'], img)

