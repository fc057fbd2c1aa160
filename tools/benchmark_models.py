"""Models of ``tools/benchmark.py``'s end-to-end section: the repository configs built with
random weights on CPU (checkpoints dropped, SyncBN -> BN, AMP -> ``OptimWrapper``), their
``--quick`` tiny variants, and one packed batch for each."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = dict(
    fvit='configs/ovcoco/declip_fvit.py',
    catseg='configs/segmentation/catseg/catseg_declip-eva02-b16_4xb1-80k_coco-stuff171-384x384.py',
    distill='configs/declip/declip_eva02-b16_dinov2-b14_4xb4-6e_coco.py')
SCOPES = dict(fvit='mmdet', catseg='mmseg')

def tiny_arch(patch: int = 8) -> dict:
    """``TINY_EVA`` (4 blocks, width 64, embed 32) with the given patch size."""
    from declip_mm.testing import TINY_EVA
    return dict(TINY_EVA, vision_cfg=dict(TINY_EVA['vision_cfg'], patch_size=patch))


def cpu_random_weights(cfg):
    """Drop pretrained files (``init_cfg``, ``checkpoint``) and turn SyncBN into BN, in place."""
    if isinstance(cfg, dict):
        if isinstance(cfg.get('init_cfg'), dict) and cfg['init_cfg'].get('type') == 'Pretrained':
            cfg['init_cfg'] = None
        cfg.update({'checkpoint': None} if 'checkpoint' in cfg else {})
        cfg.update({'type': 'BN'} if cfg.get('type') == 'SyncBN' else {})
    for child in cfg.values() if isinstance(cfg, dict) else cfg if isinstance(cfg, list) else ():
        cpu_random_weights(child)
    return cfg


def prepare_fvit(cfg, args):
    """F-ViT: ``(model cfg, batch factory, info)``; ``--fvit-arch`` backbone, tiny text tower
    (one 'a photo of a {}.' prompt per class); in ``--quick`` a patch-16 tiny tower (the real
    strides), 32-channel FPN / heads and 50 proposals at 128^2."""
    m, size, embed, c = cfg.model, cfg.image_size[0], 512, 32
    m.backbone.arch = args.fvit_arch or cfg.arch
    if args.quick:
        size, embed = 128, 32
        m.backbone.update(arch=tiny_arch(16), out_indices=(0, 1, 2, 3))
        m.neck[0].in_channels, m.neck[1].in_channels, m.neck[1].out_channels = 64, [64] * 4, c
        m.rpn_head.update(in_channels=c, feat_channels=c)
        m.roi_head.bbox_roi_extractor.out_channels = c
        m.roi_head.vlm_roi_extractor.out_channels = embed
        m.roi_head.bbox_head.update(embed_dim=embed, in_channels=c, conv_out_channels=c,
                                    fc_out_channels=2 * c)
        m.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=50)
        m.train_cfg.rcnn.sampler.num = 32
        m.test_cfg.rpn.update(nms_pre=200, max_per_img=50)
    m.text_encoder = dict(type='DeCLIPTextEncoder', templates='single',
                          arch=dict(tiny_arch(), embed_dim=embed))
    return m, lambda: det_batch(size), dict(image=size, arch=m.backbone.arch)


def prepare_catseg(cfg, args):
    """CAT-Seg: ``(model cfg, batch factory, info)``; in ``--quick`` the tests' tiny sizes."""
    m = cfg.model
    if args.quick:
        m.backbone.update(arch=tiny_arch(), out_indices=(1, 2))
        m.text_encoder.arch = tiny_arch()
        m.neck.update(embed_dim=32, hidden_dim=16, num_heads=2, window_size=4,
                      appearance_guidance_dim=8, text_guidance_dim=8, pad_len=8)
        m.decode_head.update(in_channels=16, channels=8, clip_width=64, decoder_dims=(16, 8),
                             guidance_dims=(16, 8), guidance_proj_dims=(4, 2), num_classes=3)
        m.update(train_class_names=['sky', 'cat', 'grass'], clip_resolution=(64, 64))
        m.data_preprocessor.size = (64, 64)
    size, classes = m.clip_resolution[0], m.decode_head.num_classes
    return m, lambda: seg_batch(size, classes), dict(image=size, classes=classes)


def prepare_distill(cfg, args):
    """Distiller (no validation classifier): ``(model cfg, batch factory, info)``; in
    ``--quick`` a tiny student and DINOv2, student / VFM / crops at 64 / 112 / 32 px."""
    m, pipeline = cfg.model, cfg.train_pipeline[1:]  # regions, crops, VFM view, student view
    m.pop('val_classifier', None)
    if args.quick:
        m.student.arch = tiny_arch()
        m.vfm.arch_overrides = dict(embed_dim=32, depth=2, num_heads=2, img_size=112)
        for step, size in zip(pipeline[1:4], (32, 112, 64)):
            step.size = size
    sizes = [step.size for step in pipeline[1:4]]
    info = dict(crop=sizes[0], vfm=sizes[1], student=sizes[2],
                crops=len(distill_batch(pipeline)['inputs']['crops'][0]))
    return m, lambda: distill_batch(pipeline), info


def det_batch(size: int) -> dict:
    """One random ``size`` x ``size`` image with two gt boxes (labels 0, 1) as mmdet packs it."""
    import torch
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    g, shape = torch.Generator().manual_seed(0), (size, size)
    img = torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8)
    sample = DetDataSample(metainfo=dict(img_id=0, img_shape=shape, ori_shape=shape,
                                         scale_factor=(1.0, 1.0)))
    boxes = torch.tensor([[0.10, 0.15, 0.45, 0.60], [0.40, 0.30, 0.90, 0.85]]) * size
    sample.gt_instances = InstanceData(bboxes=boxes, labels=torch.tensor([0, 1]))
    return dict(inputs=[img], data_samples=[sample])


def seg_batch(size: int, num_classes: int) -> dict:
    """One random image with random labels in ``[0, num_classes)`` as mmseg packs it."""
    import torch
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(0)
    img = torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8)
    label = torch.randint(0, num_classes, (1, size, size), generator=g)
    sample = SegDataSample(gt_sem_seg=PixelData(data=label), metainfo=dict(
        img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size)))
    return dict(inputs=[img], data_samples=[sample])


def distill_batch(pipeline: list) -> dict:
    """One random 640 x 480 image through the config's distillation pipeline (after loading),
    collated."""
    import numpy as np
    from mmcv.transforms import Compose
    from mmengine.dataset import pseudo_collate
    np.random.seed(0)  # the grid regions are drawn with numpy's global generator
    img = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    sample = Compose(pipeline)(dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2]))
    return pseudo_collate([sample])


def build_model_and_optim(section: str, args):
    """``(model, optim_wrapper, batch factory, info)`` of a section-3 config, random weights."""
    import importlib

    import torch
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper

    import declip_mm  # noqa: F401  (registers)
    from declip_mm.registry import MODELS
    if section in SCOPES:  # sets the default scope: the root registry then finds mmdet / mmseg
        importlib.import_module(f'{SCOPES[section]}.utils').register_all_modules()
    cfg = Config.fromfile(os.path.join(ROOT, CONFIGS[section]))
    model_cfg, batch, info = globals()[f'prepare_{section}'](cfg, args)
    torch.manual_seed(0)
    model = MODELS.build(cpu_random_weights(model_cfg))
    model.init_weights()
    optim_cfg = dict(cfg.optim_wrapper, type='OptimWrapper')  # CPU float32: no AMP
    optim_cfg.pop('loss_scale', None)
    return model, build_optim_wrapper(model, optim_cfg), batch, info
