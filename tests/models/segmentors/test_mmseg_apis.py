"""mmseg's own entry points with both segmentors and a custom vocabulary: ``init_model``,
``inference_model`` and ``MMSegInferencer``; the legend drawn is the vocabulary.

The checkpoints are mmengine files whose meta holds no class names, so mmseg falls back on
``decode_head.num_classes`` (``init_model``) or Cityscapes (``MMSegInferencer``), which the
segmentors must not let through.
"""
import numpy as np
import pytest
import torch
from mmengine.config import Config

import declip_mm  # noqa: F401
from declip_mm.models.segmentors.dataset_meta import vocabulary_palette
from declip_mm.testing import TINY_EVA

# 20 classes: ids 19 and up are outside Cityscapes' 19, the old (wrong) legend
VOCAB = ['sky', 'rocket; spaceship', 'person', 'grass', 'tree', 'car', 'road', 'water', 'house',
         'cat', 'dog', 'chair', 'table', 'cup', 'bottle', 'lamp', 'book', 'wall', 'floor',
         'cloud']
PIPELINE = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(96, 64), keep_ratio=True),
            dict(type='PackSegInputs')]


def training_free_cfg() -> dict:
    # prob_thd > 1 with bg_idx 19: every pixel is predicted as class 19 ('cloud')
    return dict(type='DeCLIPTrainingFreeSegmentor',
                backbone=dict(type='DeCLIPViT', arch=TINY_EVA, mode='csa', frozen=True),
                text_encoder=dict(type='DeCLIPTextEncoder', arch=TINY_EVA, templates='single'),
                class_names=VOCAB, prob_thd=1.01, bg_idx=19, slide_crop=48, slide_stride=32)


def tiny_catseg_cfg() -> dict:
    """test_catseg.py's tiny CAT-Seg with the 20-entry test vocabulary."""
    import importlib.util
    import os
    path = os.path.join(os.path.dirname(__file__), 'test_catseg.py')
    spec = importlib.util.spec_from_file_location('_catseg_cfg', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.tiny_catseg(test_class_names=VOCAB)


def write_files(tmp_path, model_cfg: dict):
    """A config (mmseg runtime + our model) and an mmengine checkpoint without class names."""
    from mmseg.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
    cfg = Config(dict(model=model_cfg, default_scope='mmseg', test_pipeline=PIPELINE,
                      test_dataloader=dict(dataset=dict(pipeline=PIPELINE)),
                      visualizer=dict(type='SegLocalVisualizer', name='visualizer',
                                      vis_backends=[dict(type='LocalVisBackend')])))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    ckpt = str(tmp_path / 'model.pth')
    torch.save({'meta': {'epoch': 1}, 'state_dict': model.state_dict()}, ckpt)
    return cfg, ckpt


def photo() -> np.ndarray:
    from skimage import data
    from skimage.transform import resize
    rgb = (resize(data.rocket(), (64, 96), anti_aliasing=True) * 255).astype(np.uint8)
    return np.ascontiguousarray(rgb[..., ::-1])  # BGR, as mmcv loads it


@pytest.mark.parametrize('kind', ['training_free', 'catseg'])
def test_init_model_and_inference_model(tmp_path, kind):
    from mmseg.apis import inference_model, init_model
    cfg, ckpt = write_files(tmp_path, training_free_cfg() if kind == 'training_free'
                            else tiny_catseg_cfg())
    with pytest.warns(UserWarning, match='dataset_meta or class names are not saved'):
        model = init_model(cfg, ckpt, device='cpu')
    assert model.dataset_meta['classes'] == tuple(VOCAB)
    assert model.dataset_meta['palette'] == vocabulary_palette(20)
    result = inference_model(model, photo())
    assert result.seg_logits.data.shape == (20, 64, 96)
    assert result.pred_sem_seg.data.max() < 20
    if kind == 'training_free':
        assert (result.pred_sem_seg.data == 19).all()
    # the vocabulary can change after loading; the metadata follows
    model.bg_idx = 0
    model.set_vocabulary(['kitten; cat', 'sofa'])
    assert model.dataset_meta['classes'] == ('kitten; cat', 'sofa')
    assert len(model.dataset_meta['palette']) == 2
    assert inference_model(model, photo()).seg_logits.data.shape[0] == 2


@pytest.mark.parametrize('kind', ['training_free', 'catseg'])
def test_mmseg_inferencer_draws_the_vocabulary(tmp_path, kind):
    from mmseg.apis import MMSegInferencer
    cfg, ckpt = write_files(tmp_path, training_free_cfg() if kind == 'training_free'
                            else tiny_catseg_cfg())
    # with classes= (stock mmseg then also needs a palette of that length) or without
    names = dict(classes=VOCAB, palette=vocabulary_palette(20)) if kind == 'catseg' else {}
    inferencer = MMSegInferencer(model=cfg, weights=ckpt, device='cpu', **names)
    img = photo()
    out = inferencer(img, return_vis=True)
    meta = inferencer.visualizer.dataset_meta
    assert meta['classes'] == tuple(VOCAB) and 'road' in meta['classes']
    assert 'sidewalk' not in meta['classes']  # not Cityscapes
    pred = out['predictions']
    vis = out['visualization'].astype(int)
    for label in np.unique(pred):  # every predicted class is painted, ids >= 19 included
        colour = np.array(meta['palette'][label])
        blended = (img[pred == label] * 0.2 + colour * 0.8).astype(int)
        close = (np.abs(vis[pred == label] - blended) <= 1).all(-1).mean()
        assert close > 0.8, (label, close)  # the rest is the drawn label text
    if kind == 'training_free':
        assert set(np.unique(pred)) == {19}
    # after set_vocabulary the legend is the new vocabulary
    inferencer.model.bg_idx = 0
    inferencer.model.set_vocabulary(['rocket', 'sky', 'ground'])
    assert inferencer(img, return_vis=True)['predictions'].max() < 3
    assert inferencer.visualizer.dataset_meta['classes'] == ('rocket', 'sky', 'ground')


def test_assigned_palette_is_kept_for_the_same_classes_only():
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    model = MODELS.build(dict(training_free_cfg(), class_names=['a', 'b'], bg_idx=0))
    model.dataset_meta = dict(classes=('x', 'y'), palette=[(1, 2, 3), (4, 5, 6)])
    assert model.dataset_meta == dict(classes=('a', 'b'), palette=vocabulary_palette(2))
    model.dataset_meta = dict(classes=['a', 'b'], palette=[[1, 2, 3], [4, 5, 6]])
    assert model.dataset_meta == dict(classes=('a', 'b'), palette=[(1, 2, 3), (4, 5, 6)])
    model.set_vocabulary(['a', 'b', 'c'])
    assert model.dataset_meta['palette'] == vocabulary_palette(3)
    assert len(set(vocabulary_palette(300))) > 290  # distinct colours for large vocabularies
