# DeCLIP F-ViT on OV-COCO (48 base / 17 novel): CLIPSelf's F-ViT recipe
# (F-ViT/configs/ov_coco/fvit_vitb16_upsample_fpn_bs64_3e_ovcoco_eva_original.py) on mmdet 3,
# with one deliberate change: the frozen EVA02-CLIP-B/16 runs DeCLIP's decoupled last block
# (mode 'csa'), which feeds the last pyramid level and the dense VLM map (DeCLIP issue #10).
# 640x640, 3 epochs, batch 64 (8 GPUs x 8), AdamW lr 1e-4 wd 0.1, 250 warm-up iterations, no
# decay, grad clip 1.0, fp16 with a static loss scale of 512, lr scaled from batch 64.
# Every remaining difference from F-ViT is listed in docs/detection.md.
#
#   python tools/dataset_converters/coco2ov.py data/coco          # once: the split files
#   bash tools/dist_train.sh configs/ovcoco/declip_fvit.py 8
#   bash tools/dist_test.sh configs/ovcoco/declip_fvit.py work_dirs/declip_fvit/epoch_3.pth 8
#
# Options kept for CLIM-style configs: CLIP normalisation (mean/std below), a learned
# background (bbox_head.background='learn'), a 1024-wide head with a projection
# (region_embedding='projection', fc_out_channels=1024, num_cls_fcs=0, num_reg_fcs=0).
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_detection.py',
    '../_base_/default_runtime_det.py',
]
custom_imports = dict(imports=['declip_mm'], allow_failed_imports=False)

arch = 'EVA02-CLIP-B-16'
clip_checkpoint = 'checkpoints/DeCLIP_EVA-B_DINOv2-B_csa_0.05_2.0.pt'
image_size = (640, 640)
width, embed_dim, patch = 768, 512, 16
norm_cfg = dict(type='SyncBN', requires_grad=True)
imagenet_mean = [123.675, 116.28, 103.53]  # RGB; F-ViT's normalisation
imagenet_std = [58.395, 57.12, 57.375]
clip_mean = [122.7709383, 116.7460125, 104.09373615]  # the CLIP option
clip_std = [68.5005327, 66.6321579, 70.32316305]

model = dict(
    type='DeCLIPFViT',
    vocabulary='ov_coco',  # 65 classes, COCO id order
    base_classes='ov_coco_base',  # the 17 others: zero loss weight, fused with beta
    text_encoder=dict(
        type='DeCLIPTextEncoder', arch=arch, templates='fvit',
        init_cfg=dict(type='Pretrained', checkpoint=clip_checkpoint)),
    # Images are padded to image_size after normalisation with 0, as F-ViT's mmdet-2 Pad
    # after Normalize does: every image is at most image_size after Resize / RandomCrop.
    data_preprocessor=dict(
        type='DetDataPreprocessor', mean=imagenet_mean, std=imagenet_std, bgr_to_rgb=True,
        pad_size_divisor=image_size[0]),
    backbone=dict(
        _delete_=True, type='DeCLIPViT', arch=arch, mode='csa', out_indices=(3, 5, 7, 11),
        frozen=True, init_cfg=dict(type='Pretrained', checkpoint=clip_checkpoint)),
    neck=[
        dict(type='DeCLIPPyramidAdapter', in_channels=width, scales=(4, 2, 1, 0.5),
             norm_cfg=norm_cfg),
        dict(type='FPN', in_channels=[width] * 4, out_channels=256, num_outs=5,
             norm_cfg=norm_cfg),
    ],
    rpn_head=dict(num_convs=2),
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
            bg_weight=0.6, vlm_temperature=75.0, alpha=0.1, beta=0.8,
            reg_class_agnostic=True,
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.],
                            target_stds=[0.1, 0.1, 0.2, 0.2]),
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
    test_cfg=dict(
        rpn=dict(nms_pre=2000, max_per_img=1000, nms=dict(type='nms', iou_threshold=0.7),
                 min_bbox_size=0),
        rcnn=dict(score_thr=0.01, nms=dict(type='nms', iou_threshold=0.4), max_per_img=100)))

# ----------------------------------------------------------------------------- data
dataset_type = 'DeCLIPOVCocoDataset'  # mmdet CocoDataset + OV-COCO metainfo + data check
data_root = 'data/coco/'
train_pipeline = [
    dict(type='DeCLIPLoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
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
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'text',
                    'custom_entities')),
]
train_dataloader = dict(
    batch_size=8, num_workers=8,
    dataset=dict(
        type=dataset_type, data_root=data_root,
        ann_file='zero-shot/instances_train2017_seen_2_65_cat.json',
        data_prefix=dict(img='train2017/'), pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type, data_root=data_root,
        ann_file='zero-shot/instances_val2017_all_2.json',
        data_prefix=dict(img='val2017/'), pipeline=test_pipeline))
test_dataloader = val_dataloader
# base_ap50 / novel_ap50 (and bbox_mAP_50 over all 65 classes) from mmdet's OVCocoMetric.
val_evaluator = dict(
    _delete_=True, type='OVCocoMetric', metric='bbox',
    ann_file=data_root + 'zero-shot/instances_val2017_all_2.json')
test_evaluator = val_evaluator

# ----------------------------------------------------------------------------- schedule
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=3, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# Linear warm-up, then a constant lr: F-ViT does not decay on OV-COCO (step=[100]) to avoid
# over-fitting the base classes.
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=250),
]
optim_wrapper = dict(
    type='AmpOptimWrapper', loss_scale=512.0,
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.1),
    clip_grad=dict(max_norm=1.0, norm_type=2))
auto_scale_lr = dict(enable=True, base_batch_size=64)
default_hooks = dict(
    checkpoint=dict(type='DeCLIPCheckpointHook', interval=1, max_keep_ckpts=3,
                    save_best='coco/novel_ap50', rule='greater'))
