# DeCLIP F-ViT (Mask R-CNN) on OV-LVIS: the 337 rare LVIS v1 classes are novel (their
# annotations removed from training), EVA02-CLIP-B/16 DeCLIP backbone (frozen), 1024x1024,
# 48 epochs with lr steps at 32 and 44, batch 64 (8 GPUs x 8), AdamW lr 1e-4 wd 0.1, 250
# warm-up iterations, grad clip 1.0, fp16 with a static loss scale of 512, lr scaled from
# batch 64. Headline metric: mask APr (mmdet's LVISMetric).
# CLIPSelf's F-ViT OV-LVIS recipe (fvit_vitb16_upsample_fpn_bs64_4x_ovlvis_eva_original.py) with
# one deliberate change, DeCLIP's csa last block; other differences: docs/detection.md.
#
#   python tools/dataset_converters/lvis2ov.py data/lvis_v1      # once: train without rare
#   bash tools/dist_train.sh configs/ovlvis/declip-fvit_eva02-b16_fpn_8xb8-48e_ov-lvis-1024.py 8
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/lvis_v1_instance.py',
    '../_base_/default_runtime_det.py',
]
custom_imports = dict(imports=['declip_mm'], allow_failed_imports=False)

arch = 'EVA02-CLIP-B-16'
clip_checkpoint = 'checkpoints/DeCLIP_EVA-B_DINOv2-B_csa_0.05_2.0.pt'
image_size = (1024, 1024)
width, embed_dim, patch = 768, 512, 16
norm_cfg = dict(type='SyncBN', requires_grad=True)
imagenet_mean = [123.675, 116.28, 103.53]  # RGB; F-ViT's normalisation
imagenet_std = [58.395, 57.12, 57.375]

model = dict(
    type='DeCLIPFViT',
    vocabulary='lvis_v1',  # 1203 classes, LVIS id order
    base_classes='lvis_v1_base',  # frequent + common; the rare ones are novel
    text_encoder=dict(
        type='DeCLIPTextEncoder', arch=arch, templates='fvit',
        init_cfg=dict(type='Pretrained', checkpoint=clip_checkpoint)),
    data_preprocessor=dict(
        type='DetDataPreprocessor', mean=imagenet_mean, std=imagenet_std, bgr_to_rgb=True,
        pad_mask=True, pad_size_divisor=image_size[0]),  # 0-padding after normalisation
    backbone=dict(
        _delete_=True, type='DeCLIPViT', arch=arch, mode='csa', out_indices=(3, 5, 7, 11),
        frozen=True, init_cfg=dict(type='Pretrained', checkpoint=clip_checkpoint)),
    neck=[
        dict(type='DeCLIPPyramidAdapter', in_channels=width, scales=(4, 2, 1, 0.5),
             norm_cfg=norm_cfg),
        dict(type='FPN', in_channels=[width] * 4, out_channels=256, num_outs=5,
             norm_cfg=norm_cfg),
    ],
    # F-ViT's CustomRPNHead: its two convs are normalised (SyncBN)
    rpn_head=dict(type='DeCLIPNormRPNHead', num_convs=2, norm_cfg=norm_cfg),
    roi_head=dict(
        type='DeCLIPFViTRoIHead',
        vlm_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=1, sampling_ratio=0,
                           use_torchvision=True),
            out_channels=embed_dim, featmap_strides=[patch]),
        bbox_head=dict(
            _delete_=True, type='DeCLIPOVBBoxHead', embed_dim=embed_dim,
            region_embedding='cls_fc', in_channels=256, roi_feat_size=7,
            num_shared_convs=4, num_shared_fcs=2, num_cls_fcs=1, num_reg_fcs=1,
            conv_out_channels=256, fc_out_channels=embed_dim, norm_cfg=norm_cfg,
            temperature=50.0, learn_temperature=True, background='text',
            bg_weight=0.9, vlm_temperature=50.0, alpha=0.1, beta=0.6,
            reg_class_agnostic=True,
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.],
                            target_stds=[0.1, 0.1, 0.2, 0.2]),
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        mask_head=dict(class_agnostic=True, norm_cfg=norm_cfg)),
    train_cfg=dict(rcnn=dict(assigner=dict(match_low_quality=True))),
    test_cfg=dict(
        rpn=dict(nms_pre=2000, max_per_img=1000, nms=dict(type='nms', iou_threshold=0.7),
                 min_bbox_size=0),
        rcnn=dict(score_thr=1e-4, nms=dict(type='nms', iou_threshold=0.5), max_per_img=300,
                  mask_thr_binary=0.5)))

# ----------------------------------------------------------------------------- data
dataset_type = 'DeCLIPOVLVISDataset'  # mmdet LVISV1Dataset + base/novel metainfo + data check
data_root = 'data/lvis_v1/'
train_pipeline = [
    dict(type='DeCLIPLoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomResize', scale=image_size, ratio_range=(0.1, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_type='absolute_range', crop_size=image_size,
         recompute_bbox=True, allow_negative_crop=True),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='DeCLIPLoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'text',
                    'custom_entities')),
]
# F-ViT trains on the plain training set (no repeat-factor resampling of mmdet's LVIS base).
train_dataloader = dict(
    batch_size=8, num_workers=8,
    dataset=dict(
        _delete_=True, type=dataset_type, data_root=data_root,
        ann_file='annotations/lvis_v1_train_norare.json', data_prefix=dict(img=''),
        filter_cfg=dict(filter_empty_gt=True, min_size=32), pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='annotations/lvis_v1_val.json', data_prefix=dict(img=''),
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='LVISMetric', metric=['bbox', 'segm'],
                     ann_file=data_root + 'annotations/lvis_v1_val.json')
test_evaluator = val_evaluator

# ----------------------------------------------------------------------------- schedule
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=48, val_interval=4)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=250),
    dict(type='MultiStepLR', begin=0, end=48, by_epoch=True, milestones=[32, 44], gamma=0.1),
]
optim_wrapper = dict(
    type='AmpOptimWrapper', loss_scale=512.0,
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.1),
    clip_grad=dict(max_norm=1.0, norm_type=2))
auto_scale_lr = dict(enable=True, base_batch_size=64)
default_hooks = dict(checkpoint=dict(type='DeCLIPCheckpointHook', interval=4, max_keep_ckpts=3))
