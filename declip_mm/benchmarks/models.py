"""Models of the benchmark's end-to-end sections (``tools/benchmark.py``): the repository
configs built with random weights on CPU (checkpoints dropped, SyncBN -> BN, AMP ->
``OptimWrapper``), their ``--quick`` tiny variants, and one packed batch for each."""
import contextlib
import importlib
import importlib.util
import os
import sys

from ..utils.package_paths import repository_path

CONFIGS = dict(
    fvit='configs/ovcoco/declip_fvit.py',
    catseg='configs/segmentation/catseg/catseg_declip-eva02-b16_4xb1-80k_coco-stuff171-384x384.py',
    distill='configs/declip/declip_eva02-b16_dinov2-b14_4xb4-6e_coco.py')
SCOPES = dict(fvit='mmdet', catseg='mmseg')

def tiny_arch(patch: int = 8) -> dict:
    """``TINY_EVA`` (4 blocks, width 64, embed 32) with the given patch size."""
    from ..testing import TINY_EVA
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
                                    fc_out_channels=embed)  # cls_fc: fc width = embed
        m.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=50)
        m.train_cfg.rcnn.sampler.num = 32
        m.test_cfg.rpn.update(nms_pre=200, max_per_img=50)
    m.text_encoder = dict(type='DeCLIPTextEncoder', templates='single',
                          arch=dict(tiny_arch(), embed_dim=embed))
    arch = 'tiny EVA02, patch 16' if args.quick else m.backbone.arch
    return m, lambda: det_batch(size), dict(image=size, arch=arch)


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

    from ..registry import MODELS
    if section in SCOPES:  # sets the default scope: the root registry then finds mmdet / mmseg
        importlib.import_module(f'{SCOPES[section]}.utils').register_all_modules()
    cfg = Config.fromfile(repository_path(CONFIGS[section]))
    model_cfg, batch, info = globals()[f'prepare_{section}'](cfg, args)
    torch.manual_seed(0)
    model = MODELS.build(cpu_random_weights(model_cfg))
    model.init_weights()
    optim_cfg = dict(cfg.optim_wrapper, type='OptimWrapper')  # CPU float32: no AMP
    optim_cfg.pop('loss_scale', None)
    return model, build_optim_wrapper(model, optim_cfg), batch, info


@contextlib.contextmanager
def bundled_open_clip(clim: str):
    """While active, ``open_clip`` names the copy bundled in the CLIM checkout ``clim``, and
    CLIM's ``ovdet`` package is importable (and imported: it registers its mmdet modules, bound
    to that copy, which they keep). Build the peer's models inside; the installed open_clip is
    restored afterwards for declip_mm."""
    src = os.path.join(clim, 'src', 'open_clip')
    installed = {k: v for k, v in sys.modules.items() if k.split('.')[0] == 'open_clip'}
    for k in installed:
        del sys.modules[k]
    spec = importlib.util.spec_from_file_location(
        'open_clip', os.path.join(src, '__init__.py'), submodule_search_locations=[src])
    sys.modules['open_clip'] = module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        if os.path.join(clim, 'ovdet') not in sys.path:
            sys.path.insert(0, os.path.join(clim, 'ovdet'))
        from mmdet.utils import register_all_modules
        register_all_modules()
        importlib.import_module('ovdet')  # registers CLIPViT, FVLM, ... on the bundled copy
        yield
    finally:
        for k in [k for k in sys.modules if k.split('.')[0] == 'open_clip']:
            del sys.modules[k]
        sys.modules.update(installed)


def build_peer_fvlm(clim_repo: str):
    """The performance issue's peer: wusize/CLIM's ViT-B/16 F-VLM OV-COCO config, unpatched
    from a local checkout (its ``ovdet`` package and the open_clip copy in ``src/``), random
    weights (no pretrained file), SyncBN -> BN. ``(model, optim_wrapper)``; run it in its own
    process: its open_clip shadows the installed one."""
    import torch
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    clim_repo = os.path.abspath(clim_repo)
    os.chdir(os.path.join(clim_repo, 'ovdet'))  # its configs name files relative to it
    from mmdet.registry import MODELS
    with bundled_open_clip(clim_repo):  # declip_mm has imported the installed open_clip
        cfg = Config.fromfile('configs/clip_based/openai_vitb16/'
                              'faster_rcnn_fpn_openai_vitb16_clim_bs64_ov_coco_3e.py')
        m, bn = cfg.model, dict(type='BN', requires_grad=True)
        m.backbone.pretrained = None
        m.backbone.norm_cfg = m.neck.norm_cfg = m.roi_head.bbox_head.norm_cfg = bn
        torch.manual_seed(0)
        model = MODELS.build(m)
        model.init_weights()
    optim = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-4))
    return model, build_optim_wrapper(model, optim)


# Inference stages of the two F-ViT / F-VLM detectors: {stage: (ours, peer)}, each a tuple of
# ``module.path.method`` names whose calls are timed. The peer runs its pyramid adapters inside
# its backbone and pools its dense map through the backbone's ``roi_extractor``.
FVIT_STAGES = {
    'ViT + pyramid adapter': (('backbone.features', 'neck.0.forward'), ('backbone.forward',)),
    'FPN': (('neck.1.forward',), ('neck.forward',)),
    'RPN head + proposals': (('rpn_head.predict',), ('rpn_head.predict',)),
    'RoIAlign 7x7': (('roi_head.bbox_roi_extractor.forward',),) * 2,
    'box head (4 convs, 2 fcs)': (('roi_head.bbox_head.forward',),) * 2,
    'dense-map region pooling': (('roi_head.vlm_roi_extractor.forward',),
                                 ('backbone.roi_extractor.forward',)),
    'post-processing (multiclass NMS)': (('roi_head.bbox_head.predict_by_feat',),) * 2,
}


class StageTimer:
    """Wall time per ``FVIT_STAGES`` stage of a detector's calls, and how many (box, class)
    candidates pass the test score threshold into NMS: the post-processing cost depends on it.

    Instance attributes shadow the timed methods while the timer is attached; ``detach``
    removes them.
    """

    def __init__(self, model, peer: bool):
        self.model, self.times, self.candidates, self._patched = model, {}, [], []
        for stage, paths in FVIT_STAGES.items():
            for path in paths[int(peer)]:
                self._wrap(stage, path)

    def _wrap(self, stage: str, path: str) -> None:
        import functools
        import time
        *names, method = path.split('.')
        obj = functools.reduce(getattr, names, self.model)
        fn = getattr(obj, method)

        def timed(*a, **kw):
            if method == 'predict_by_feat' and 'cls_scores' in kw:  # the RoI head's
                thr = kw['rcnn_test_cfg'].score_thr
                self.candidates.append(sum(int((s[:, :-1] > thr).sum()) for s in kw['cls_scores']))
            t = time.perf_counter()
            out = fn(*a, **kw)
            self.times[stage] = self.times.get(stage, 0.0) + time.perf_counter() - t
            return out
        setattr(obj, method, timed)
        self._patched.append((obj, method))

    def reset(self) -> None:
        self.times, self.candidates = {}, []

    def detach(self) -> None:
        for obj, method in self._patched:
            delattr(obj, method)
        self._patched = []


@contextlib.contextmanager
def module_blocks(backbone):
    """While active, ``DeCLIPViT``'s ordinary blocks run through the library modules' own
    ``forward`` (for OpenAI-style towers ``nn.MultiheadAttention``, the code before the SDPA
    block driver)."""
    backbone.ops.block_forward = lambda block, x, **kw: block(x, **kw)
    try:
        yield
    finally:
        del backbone.ops.block_forward
