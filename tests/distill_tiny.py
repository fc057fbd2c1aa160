"""Helpers for the distiller tests: tiny configs and real packed batches (skimage photos)."""
import copy

import numpy as np

from declip_mm.testing import TINY_EVA

STUDENT_SIZE, VFM_SIZE, CROP_SIZE = 64, 112, 32   # 8 x 8 student grid (patch 8) = VFM grid (14)
TINY_DINOV2 = dict(type='DeCLIPDINOv2Teacher', arch='vitb14_reg',
                   arch_overrides=dict(embed_dim=32, depth=2, num_heads=2, img_size=VFM_SIZE))


def distiller_cfg(arch=TINY_EVA, mode='csa', **kwargs):
    cfg = dict(type='DeCLIPDistiller',
               student=dict(type='DeCLIPViT', arch=copy.deepcopy(arch), mode=mode),
               vfm=copy.deepcopy(TINY_DINOV2))
    cfg.update(kwargs)
    return cfg


def make_samples(names=('astronaut', 'coffee'), seed=0, vfm_size=VFM_SIZE):
    """Packed samples of skimage photos (what the dataloader yields before collation)."""
    from mmcv.transforms import Compose
    import declip_mm.datasets.distill  # noqa: F401
    pipeline = Compose([
        dict(type='LoadImageFromFile'),
        dict(type='DeCLIPGridRegions', max_split=6, max_boxes=20),
        dict(type='DeCLIPRegionCrops', size=CROP_SIZE),
        dict(type='DeCLIPResizePad', size=vfm_size, out_key='vfm_img'),
        dict(type='DeCLIPResizePad', size=STUDENT_SIZE),
        dict(type='PackDeCLIPDistillInputs'),
    ])
    np.random.seed(seed)
    return [pipeline(dict(img_path=f'skimage://{n}')) for n in names]


def collate(samples):
    from mmengine.dataset import pseudo_collate
    return pseudo_collate(samples)


def build_distiller(**kwargs):
    """A tiny, initialised distiller (teacher = student copy)."""
    import torch

    import declip_mm  # noqa: F401
    import declip_mm.datasets.distill  # noqa: F401
    import declip_mm.evaluation.region_cls  # noqa: F401
    from declip_mm.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(distiller_cfg(**kwargs))
    model.init_weights()
    return model
