# DeCLIP F-ViT on OV-Shapes: the main job's config (the one setting where open-vocabulary
# results mean something offline, on 2 CPU cores in minutes).
#
# It is configs/ovcoco/declip_fvit.py, unchanged in design, with the OV-Shapes world plugged in:
# * backbone: the tiny DeCLIP encoder (declip_mm/assets/ovshapes/tiny_declip.pt, distilled from
#   the tiny CLIP with configs/ovshapes/declip_distill_ovshapes.py), mode 'csa', frozen, 4 blocks
#   of width 96, patch 8 -> an 8 x 8 grid on the 64 x 64 scenes;
# * text encoder / class embeddings: the tiny CLIP's text tower, prompt 'a {}';
# * vocabulary: the 30 '<colour> <shape>' classes; training sees the 24 base classes only
#   (train_base split); the 6 novel ones get zero loss weight and are fused with beta at test;
# * data: OV-Shapes at its native 64 x 64 (train_base -> test), OVCocoMetric base / novel AP50;
# * a narrow FPN (32 channels, 4 levels: strides 2-16 cover the 64 px scenes), 64 RoIs per
#   image, a box head of 2 FCs (256) without F-ViT's 4 shared convs (they would dominate the
#   CPU time here), and a short AdamW schedule (run times: docs/getting_started.md).
#
#   python tools/ovshapes/main_job.py                      # everything (bash tools/run_main.sh)
#   python tools/train.py configs/ovshapes/fvit_tiny-declip_ovshapes.py
#   python tools/test.py configs/ovshapes/fvit_tiny-declip_ovshapes.py \
#       work_dirs/fvit_tiny-declip_ovshapes/iter_400.pth --show-dir vis
_base_ = ['../ovcoco/declip_fvit.py']

# modules, not names: a config keeps no imported constants, and shipped files are named
# 'declip_mm://...' (resolved where they are read), so a saved config holds no machine paths
import declip_mm.datasets.ov_shapes.arch as ovs_arch
import declip_mm.datasets.ov_shapes.classes as ovs_classes

# the tiny CLIP's open_clip config (a dict; '_delete_' replaces the base's 'EVA02-CLIP-B-16')
arch = dict(ovs_arch.OV_SHAPES_CLIP, _delete_=True)
backbone_mode = 'csa'
backbone_checkpoint = 'declip_mm://assets/ovshapes/tiny_declip.pt'
clip_checkpoint = 'declip_mm://assets/ovshapes/tiny_clip.pt'  # text tower
image_size = (64, 64)
width, embed_dim, patch = 96, 96, 8
channels = 32  # FPN / RPN / RoI-head width (256 in the COCO config)
bn = dict(type='BN', requires_grad=True)
max_iters = 400
data_root = 'data/ovshapes/'

model = dict(
    vocabulary=list(ovs_classes.CLASSES),
    base_classes=list(ovs_classes.BASE_CLASSES),
    text_encoder=dict(arch=dict(ovs_arch.OV_SHAPES_CLIP, _delete_=True),
                      templates=list(ovs_arch.OV_SHAPES_TEMPLATES),
                      init_cfg=dict(type='Pretrained', checkpoint=clip_checkpoint)),
    data_preprocessor=dict(mean=list(ovs_arch.OV_SHAPES_MEAN), std=list(ovs_arch.OV_SHAPES_STD),
                           pad_size_divisor=32),
    backbone=dict(arch=dict(ovs_arch.OV_SHAPES_CLIP, _delete_=True), mode=backbone_mode,
                  out_indices=(0, 1, 2, 3),
                  init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)),
    neck=[
        dict(type='DeCLIPPyramidAdapter', in_channels=width, scales=(4, 2, 1, 0.5),
             norm_cfg=bn),
        dict(type='FPN', in_channels=[width] * 4, out_channels=channels, num_outs=4),
    ],
    rpn_head=dict(
        in_channels=channels, feat_channels=channels, num_convs=1,
        # strides of the patch-8 pyramid; scale 8 gives 16 / 32 px anchors on the two finest
        # levels, the size of OV-Shapes objects (14-40 px)
        anchor_generator=dict(scales=[8], strides=[2, 4, 8, 16])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=channels, featmap_strides=[2, 4, 8, 16]),
        vlm_roi_extractor=dict(out_channels=embed_dim, featmap_strides=[patch]),
        # CLIM-style head options (the OV-COCO base config uses F-ViT's): a projection to the
        # text space, a learned background
        bbox_head=dict(embed_dim=embed_dim, in_channels=channels, num_shared_convs=0,
                       num_shared_fcs=2, fc_out_channels=256, norm_cfg=None,
                       region_embedding='projection', num_cls_fcs=0, num_reg_fcs=0,
                       background='learn', vlm_temperature=50.0)),
    train_cfg=dict(
        rpn=dict(sampler=dict(num=128)),
        rpn_proposal=dict(nms_pre=300, max_per_img=100),
        rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(
        rpn=dict(nms_pre=300, max_per_img=100),
        rcnn=dict(score_thr=0.001, nms=dict(type='nms', iou_threshold=0.5), max_per_img=20)))

# ----------------------------------------------------------------------------- data
dataset_type = 'OVShapesDetDataset'
train_pipeline = [
    dict(type='DeCLIPLoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='DeCLIPLoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=image_size, keep_ratio=True),  # no-op on the scenes; sets scale
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'text',
                    'custom_entities')),
]
train_dataloader = dict(
    _delete_=True,
    batch_size=8, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='train_base/annotations.json', data_prefix=dict(img='train_base/images/'),
                 filter_cfg=dict(filter_empty_gt=True, min_size=1), pipeline=train_pipeline))
val_dataloader = dict(
    _delete_=True,
    batch_size=8, num_workers=0, persistent_workers=False, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='test/annotations.json',
                 data_prefix=dict(img='test/images/'), test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='OVCocoMetric', metric='bbox', ann_file=data_root + 'test/annotations.json')
test_evaluator = val_evaluator

# ----------------------------------------------------------------------------- schedule
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=max_iters, T_max=max_iters,
         eta_min=0.0),
]
optim_wrapper = dict(
    _delete_=True, type='OptimWrapper',  # AMP needs a GPU; add --amp there
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05),
    clip_grad=dict(max_norm=1.0, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=8)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='DeCLIPCheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1,
                    save_best=None))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
