"""Open-vocabulary segmentation end to end: datasets, configs, tools/train.py + tools/test.py.

A tiny mmseg-format dataset (four scikit-image photos at 64x64 with hand-made label maps) is
written to a temporary folder; the real CAT-Seg and training-free configs run on it with tiny
DeCLIP towers (declip_mm.testing.TINY_EVA) through the command-line tools.
"""
import glob
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
CLASSES = ('background', 'subject', 'top band')


@pytest.fixture(autouse=True)
def mmseg_scope():
    """Resolve transform / model names in mmseg's scope, as a runner would."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')


def make_tiny_seg(root: str, size: int = 64) -> None:
    """Four real photos with labels: 0 background, 1 a centred box, 2 the top band, 255 border."""
    from PIL import Image
    from skimage import data
    from skimage.transform import resize
    os.makedirs(os.path.join(root, 'img'), exist_ok=True)
    os.makedirs(os.path.join(root, 'ann'), exist_ok=True)
    for i, name in enumerate(['astronaut', 'coffee', 'chelsea', 'rocket']):
        rgb = (resize(getattr(data, name)(), (size, size), anti_aliasing=True) * 255)
        Image.fromarray(rgb.astype(np.uint8)).save(os.path.join(root, 'img', f'{i}.jpg'))
        label = np.zeros((size, size), np.uint8)
        label[size // 4:3 * size // 4, size // 4 + i:3 * size // 4] = 1
        label[:size // 8] = 2
        label[-2:] = 255
        Image.fromarray(label).save(os.path.join(root, 'ann', f'{i}.png'))


def run_tool(*args: str, cwd: str) -> str:
    env = dict(os.environ, PYTHONPATH=ROOT, HF_HUB_OFFLINE='1', OMP_NUM_THREADS='2')
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


TINY_DATASET = """
dataset = dict(type='BaseSegDataset', data_root={root!r}, img_suffix='.jpg',
               seg_map_suffix='.png', data_prefix=dict(img_path='img', seg_map_path='ann'),
               metainfo=dict(classes={classes!r}))
"""

CATSEG_WRAPPER = """
_base_ = {base!r}
from declip_mm.testing import TINY_EVA
tiny = dict(TINY_EVA, _delete_=True)  # a dict replaces the base's arch name
{dataset}
crop = (64, 64)
model = dict(
    data_preprocessor=dict(size=crop),
    backbone=dict(arch=tiny, out_indices=(1, 2), init_cfg=None),
    text_encoder=dict(arch=tiny, init_cfg=None),
    neck=dict(embed_dim=32, hidden_dim=16, num_heads=2, window_size=4,
              appearance_guidance_dim=8, text_guidance_dim=8),
    decode_head=dict(in_channels=16, channels=8, clip_width=64, decoder_dims=(16, 8),
                     guidance_dims=(16, 8), guidance_proj_dims=(4, 2), num_classes=3),
    train_class_names=['wall', 'person', 'sky'],
    clip_resolution=crop,
    test_cfg=dict(crop_size=64, stride=32, out_size=96))
train_pipeline = [
    dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
    dict(type='RandomCrop', crop_size=(48, 48), cat_max_ratio=1.0),
    dict(type='RandomFlip', prob=0.5), dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(128, 80),
                 keep_ratio=True), dict(type='LoadAnnotations'), dict(type='PackSegInputs')]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(dataset, _delete_=True, pipeline=train_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False,
                      dataset=dict(dataset, _delete_=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
"""


def test_catseg_train_then_test_reports_miou(tmp_path):
    make_tiny_seg(str(tmp_path / 'data'))
    base = os.path.join(ROOT, 'configs', 'segmentation', 'catseg',
                        'catseg_declip-eva02-b16_4xb1-80k_coco-stuff171-384x384.py')
    cfg = tmp_path / 'tiny_catseg.py'
    cfg.write_text(CATSEG_WRAPPER.format(base=base, dataset=TINY_DATASET.format(
        root=str(tmp_path / 'data'), classes=CLASSES)))
    work = tmp_path / 'work'
    out = run_tool(os.path.join(ROOT, 'tools', 'train.py'), str(cfg), '--work-dir', str(work),
                   '--cfg-options', 'train_cfg.max_iters=3', 'train_cfg.val_interval=3',
                   'default_hooks.checkpoint.interval=3', 'default_hooks.logger.interval=1',
                   cwd=str(tmp_path))
    assert 'decode.loss_bce' in out and 'mIoU' in out
    ckpt = os.path.join(str(work), 'iter_3.pth')
    assert os.path.isfile(ckpt)
    # the vocabulary changes at test time through the config (a class-name file, synonyms)
    vocab = tmp_path / 'vocab.txt'
    vocab.write_text('wall; floor\nperson; cat; rocket\nsky\n')
    out = run_tool(os.path.join(ROOT, 'tools', 'test.py'), str(cfg), ckpt, '--work-dir',
                   str(tmp_path / 'test'), '--cfg-options', f'model.test_class_names={vocab}',
                   cwd=str(tmp_path))
    assert 'mIoU' in out and 'subject' in out


TRAINING_FREE_WRAPPER = """
_base_ = {base!r}
from declip_mm.testing import TINY_EVA
tiny = dict(TINY_EVA, _delete_=True)  # a dict replaces the base's arch name
{dataset}
model = dict(backbone=dict(arch=tiny), text_encoder=dict(arch=tiny),
             class_names=['wall; tree', 'person; cat; rocket', 'sky'],
             slide_crop=48, slide_stride=16)
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(128, 56),
                 keep_ratio=True), dict(type='LoadAnnotations'), dict(type='PackSegInputs')]
test_dataloader = dict(num_workers=0, persistent_workers=False,
                       dataset=dict(dataset, _delete_=True, pipeline=test_pipeline))
"""


def test_training_free_tools_test_with_official_layout_checkpoint(tmp_path):
    """tools/test.py with a bare CLIP checkpoint (``visual.*`` / ``text.*``) gives mIoU."""
    from mmseg.registry import MODELS

    import declip_mm  # noqa: F401
    from declip_mm.testing import TINY_EVA
    make_tiny_seg(str(tmp_path / 'data'))
    base = os.path.join(ROOT, 'configs', 'segmentation', 'training_free',
                        'declip_eva02-b16_slide_voc21.py')
    cfg = tmp_path / 'tiny_tf.py'
    cfg.write_text(TRAINING_FREE_WRAPPER.format(base=base, dataset=TINY_DATASET.format(
        root=str(tmp_path / 'data'), classes=CLASSES)))
    torch.manual_seed(0)
    model = MODELS.build(dict(type='DeCLIPTrainingFreeSegmentor',
                              backbone=dict(type='DeCLIPViT', arch=TINY_EVA),
                              text_encoder=dict(type='DeCLIPTextEncoder', arch=TINY_EVA),
                              class_names=['a']))
    sd = {k[len('backbone.'):]: v for k, v in model.state_dict().items()
          if k.startswith('backbone.')}
    sd.update({'text.' + k: v for k, v in model.text_encoder.text.state_dict().items()})
    ckpt = tmp_path / 'declip_tiny.pt'
    torch.save({'state_dict': sd}, ckpt)
    out = run_tool(os.path.join(ROOT, 'tools', 'test.py'), str(cfg), str(ckpt), '--work-dir',
                   str(tmp_path / 'test'), cwd=str(tmp_path))
    assert 'mIoU' in out and 'top band' in out
    assert 'missing keys' not in out.lower()


# ---------------------------------------------------------------------------- configs
SEG_CONFIGS = sorted(glob.glob(os.path.join(ROOT, 'configs', 'segmentation', '*', '*.py')))


@pytest.mark.parametrize('path', [p for p in SEG_CONFIGS
                                  if not os.path.basename(p).startswith('_')],
                         ids=os.path.basename)
def test_configs_parse(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports['imports'] == ['declip_mm']
    assert cfg.model.type in ('DeCLIPTrainingFreeSegmentor', 'DeCLIPCATSeg')
    assert cfg.test_evaluator['type'] == 'IoUMetric'
    from declip_mm.vocab import resolve_vocabulary
    names = cfg.model.get('test_class_names') or cfg.model.get('class_names') \
        or cfg.model.train_class_names
    assert resolve_vocabulary(names)


def test_training_free_settings():
    def load(name):
        return Config.fromfile(os.path.join(ROOT, 'configs', 'segmentation', 'training_free',
                                            f'declip_eva02-b16_slide_{name}.py')).model
    assert (load('voc21').logit_scale, load('voc21').prob_thd) == (80, 0.4)
    assert load('context60').prob_thd == 0.15 and load('coco-object').prob_thd == 0.2
    assert load('ade20k').logit_scale == 40 and load('ade20k').prob_thd == 0.0
    m = load('cityscapes')
    assert (m.slide_crop, m.slide_stride) == (336, 112)
    assert m.backbone.mode == 'csa' and m.text_encoder.templates == 'imagenet'


def test_catseg_l14_settings():
    name = 'catseg_declip-eva02-l14-336_4xb1-80k_coco-stuff171-384x384.py'
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'segmentation', 'catseg', name))
    assert cfg.model.clip_resolution == (336, 336) and cfg.model.backbone.out_indices == (7, 15)
    assert cfg.model.neck.embed_dim == 768 and cfg.model.decode_head.clip_width == 1024
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys['text_encoder']['lr_mult'] == 0.01


def test_stock_mmseg_config_becomes_declip():
    """configs/examples/mmseg_stock_to_declip.py: the stock ViT + UPerNet config with the DeCLIP
    tower; built with a tiny tower of matching width, it trains a step."""
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    from mmengine.structures import PixelData

    import declip_mm  # noqa: F401
    from declip_mm.testing import TINY_EVA
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'examples', 'mmseg_stock_to_declip.py'))
    assert cfg.model.backbone.type == 'DeCLIPViT' and cfg.model.pretrained is None
    assert cfg.model.decode_head.type == 'UPerHead' and cfg.model.neck.type == 'MultiLevelNeck'
    model_cfg = cfg.model
    model_cfg.backbone.update(arch=TINY_EVA, out_indices=(0, 1, 2, 3), init_cfg=None)
    model_cfg.neck.update(in_channels=[64] * 4, out_channels=64)
    model_cfg.decode_head.update(in_channels=[64] * 4, channels=16, norm_cfg=dict(type='BN'))
    model_cfg.auxiliary_head.update(in_channels=64, channels=16, norm_cfg=dict(type='BN'))
    model_cfg.data_preprocessor.size = (64, 64)
    model = MODELS.build(model_cfg)
    model.train()
    ds = SegDataSample(gt_sem_seg=PixelData(data=torch.randint(0, 150, (1, 64, 64))))
    ds.set_metainfo(dict(img_shape=(64, 64), ori_shape=(64, 64)))
    data = model.data_preprocessor(dict(inputs=[torch.randint(0, 255, (3, 64, 64)).byte()] * 2,
                                        data_samples=[ds, ds]), training=True)
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['decode.loss_ce']) and 'aux.loss_ce' in losses


# ---------------------------------------------------------------------------- datasets
def test_datasets_metainfo():
    from declip_mm.datasets.segmentation import (DeCLIPADE20K847Dataset,
                                                 DeCLIPCOCOObjectDataset,
                                                 DeCLIPPascalContext459Dataset,
                                                 DeCLIPPascalVOC20Dataset)
    assert len(DeCLIPPascalVOC20Dataset.METAINFO['classes']) == 20
    assert DeCLIPPascalVOC20Dataset.METAINFO['classes'][0] == 'aeroplane'
    coco = DeCLIPCOCOObjectDataset.METAINFO['classes']
    assert len(coco) == 81 and coco[:2] == ('background', 'person')
    ade = DeCLIPADE20K847Dataset.METAINFO['classes']
    assert len(ade) == 847 and ade[1] == 'building; edifice'  # the one synonym rule
    assert len(DeCLIPPascalContext459Dataset.METAINFO['classes']) == 459


def test_voc20_and_wide_labels_load(tmp_path):
    """VOC-20 drops the background (0 -> ignored, 1-20 -> 0-19); 16-bit TIFF labels keep values
    above 255 and 255 itself as a class."""
    from PIL import Image

    from declip_mm.datasets.segmentation import (DeCLIPADE20K847Dataset,
                                                 DeCLIPPascalVOC20Dataset)
    (tmp_path / 'img').mkdir()
    (tmp_path / 'ann').mkdir()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / 'img' / 'a.jpg')
    Image.fromarray(np.array([[0, 1, 20, 255]] * 4, np.uint8)).save(tmp_path / 'ann' / 'a.png')
    wide = np.array([[0, 255, 300, 846]] * 4, np.uint16)
    Image.fromarray(wide).save(tmp_path / 'ann' / 'a.tif')
    voc = DeCLIPPascalVOC20Dataset(
        data_root=str(tmp_path), data_prefix=dict(img_path='img', seg_map_path='ann'),
        pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')])
    assert voc[0]['gt_seg_map'][0].tolist() == [255, 0, 19, 255]
    ade = DeCLIPADE20K847Dataset(
        data_root=str(tmp_path), data_prefix=dict(img_path='img', seg_map_path='ann'),
        pipeline=[dict(type='LoadImageFromFile'), dict(type='DeCLIPLoadWideSegAnnotations'),
                  dict(type='PackSegInputs')])
    packed = ade[0]['data_samples'].gt_sem_seg.data
    assert packed[0, 0].tolist() == [0, 255, 300, 846] and packed.dtype == torch.int64
    # mmseg's IoUMetric with ignore_index=65535 counts class 255 and class 300
    from mmseg.evaluation import IoUMetric
    metric = IoUMetric(ignore_index=65535)
    metric.dataset_meta = dict(classes=DeCLIPADE20K847Dataset.METAINFO['classes'])
    area = metric.intersect_and_union(packed[0].clone(), packed[0], 847, 65535)
    assert area[0][[0, 255, 300, 846]].tolist() == [4, 4, 4, 4]


def test_class_name_files():
    from declip_mm.vocab import builtin_class_files, resolve_vocabulary
    sizes = dict(voc21=21, voc20=20, context60=60, context59=59, coco_object=81,
                 coco_stuff171=171, ade150=150, cityscapes=19, catseg_coco_stuff171=171,
                 catseg_ade150=150, catseg_ade847=847, catseg_pc59=59, catseg_pc459=459,
                 catseg_voc20=20, catseg_voc21=21, sclip_voc21=21, sclip_voc20=20,
                 sclip_coco_object=81, objects365v1=365, voc=20)  # the last two: F-ViT transfer
    assert set(sizes) == set(builtin_class_files())
    for name, n in sizes.items():
        assert len(resolve_vocabulary(name)) == n, name
    assert resolve_vocabulary('voc21')[15] == 'person'  # ClearCLIP's list
    assert resolve_vocabulary('sclip_voc21')[15].startswith('person; person in shirt')
    assert len(resolve_vocabulary('catseg_voc21')[0].split('; ')) == 39
