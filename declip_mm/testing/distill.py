"""A tiny DeCLIP distiller (random weights) and real packed batches for it (skimage photos).

The student is a tiny ``DeCLIPViT`` (``TINY_EVA`` by default) at 64 x 64 px, patch 8 (an 8 x 8
grid); the VFM teacher a 2-block DINOv2 ViT-B/14-reg cut to width 32 at 112 px (the same 8 x 8
grid); region crops are 32 px.
"""
import copy

from . import TINY_EVA

STUDENT_SIZE, VFM_SIZE, CROP_SIZE = 64, 112, 32
TINY_DINOV2 = dict(type='DeCLIPDINOv2Teacher', arch='vitb14_reg',
                   arch_overrides=dict(embed_dim=32, depth=2, num_heads=2, img_size=VFM_SIZE))
"""The tiny DINOv2 teacher config (a 8 x 8 grid at ``VFM_SIZE``)."""


def distiller_cfg(arch: dict = TINY_EVA, mode: str = 'csa', **kwargs) -> dict:
    """A ``DeCLIPDistiller`` config: tiny student ``arch`` in ``mode``, the tiny DINOv2 teacher;
    ``kwargs`` override top-level keys."""
    cfg = dict(type='DeCLIPDistiller',
               student=dict(type='DeCLIPViT', arch=copy.deepcopy(arch), mode=mode),
               vfm=copy.deepcopy(TINY_DINOV2))
    cfg.update(kwargs)
    return cfg


def build_distiller(**kwargs):
    """A tiny, initialised ``DeCLIPDistiller`` (seed 0; teacher = student copy); ``kwargs`` go
    to :func:`distiller_cfg`."""
    import torch

    import declip_mm  # noqa: F401
    import declip_mm.datasets.distill  # noqa: F401
    import declip_mm.evaluation.region_cls  # noqa: F401
    from declip_mm.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(distiller_cfg(**kwargs))
    model.init_weights()
    return model


def make_distill_batch(names=('astronaut', 'coffee'), seed: int = 0,
                       vfm_size: int = VFM_SIZE) -> dict:
    """The collated batch (``pseudo_collate``) of skimage photos ``names`` through the
    distillation pipeline: grid regions (up to 20 boxes), 32 px crops, the VFM input at
    ``vfm_size`` and the student input at 64 px. ``seed`` seeds numpy's generator."""
    import numpy as np
    from mmcv.transforms import Compose
    from mmengine.dataset import pseudo_collate

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
    return pseudo_collate([pipeline(dict(img_path=f'skimage://{n}')) for n in names])
