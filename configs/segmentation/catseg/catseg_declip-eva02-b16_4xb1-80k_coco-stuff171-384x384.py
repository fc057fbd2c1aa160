# CAT-Seg (CVPR design) with the DeCLIP EVA02-B/16 backbone, trained on COCO-Stuff-171.
# As the DeCLIP CAT-Seg branch (configs/eva_vitb_384.yaml): CLIP input 384^2 (24x24 grid),
# guidance from blocks 3 and 7, prompt 'A photo of a {} in the scene', 2 aggregation layers,
# AdamW 2e-4, batch 4 in total (4 GPUs x 1), 80k iterations, cosine schedule, CLIP q/v (visual)
# and in-projection (text) weights trained at 0.01x, grad-norm clip 0.01 over the whole model.
#   bash tools/dist_train.sh \
#       configs/segmentation/catseg/catseg_declip-eva02-b16_4xb1-80k_coco-stuff171-384x384.py 4
_base_ = ['../../_base_/default_runtime_seg.py']
custom_imports = dict(imports=['declip_mm'], allow_failed_imports=False)

arch = 'EVA02-CLIP-B-16'
declip_checkpoint = 'checkpoints/DeCLIP_EVA-B_DINOv2-B_csa_0.05_2.0.pt'  # DeCLIP weights
crop_size = (384, 384)
model = dict(
    type='DeCLIPCATSeg',
    # CLIP's mean / std as CAT-Seg's CLIP_PIXEL_MEAN / STD (cat_seg/config.py), unrounded
    data_preprocessor=dict(type='SegDataPreProcessor',
                           mean=[122.7709383, 116.7460125, 104.09373615],
                           std=[68.5005327, 66.6321579, 70.3231630], bgr_to_rgb=True,
                           size=crop_size, pad_val=0, seg_pad_val=255),
    backbone=dict(
        type='DeCLIPViT', arch=arch, mode='csa', attn_scale='auto',
        out_indices=(3, 7), out_dense=True, normalize_dense=True,
        frozen=True,
        trainable=['visual.trunk.blocks.*.attn.q_proj.weight',
                   'visual.trunk.blocks.*.attn.v_proj.weight'],
        init_cfg=dict(type='Pretrained', checkpoint=declip_checkpoint)),
    text_encoder=dict(
        type='DeCLIPCATSegTextEncoder', arch=arch, templates='scene',
        trainable=['transformer.resblocks.*.attn.in_proj_weight'],
        init_cfg=dict(type='Pretrained', checkpoint=declip_checkpoint)),
    neck=dict(
        type='DeCLIPCATSegAggregator', embed_dim=512, hidden_dim=128, num_layers=2,
        num_heads=4, window_size=12, appearance_guidance_dim=128, text_guidance_dim=128,
        pooling_size=(2, 2), test_pooling_size=(1, 1), prompt_channels=1, pad_len=256),
    decode_head=dict(
        type='DeCLIPCATSegHead', in_channels=128, channels=32, clip_width=768,
        decoder_dims=(64, 32), guidance_dims=(256, 128), guidance_proj_dims=(32, 16),
        num_classes=171, loss_decode=dict(type='DeCLIPCATSegBCELoss')),
    train_class_names='catseg_coco_stuff171',
    clip_resolution=crop_size,
    # resize to 640^2, 384 windows with overlap 1/3 (stride 256), plus a global 384 view
    test_cfg=dict(mode='slide', crop_size=384, stride=256, out_size=640, global_view=True))

# data: short side 384, 384^2 crops, flip, photometric distortion (CAT-Seg's mapper)
dataset_type = 'COCOStuffDataset'
data_root = 'data/coco_stuff164k'
train_pipeline = [
    dict(type='DeCLIPLoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='ResizeShortestEdge', scale=384, max_size=1333),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=1.0),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='DeCLIPLoadImageFromFile'),
    dict(type='Resize', scale=(2560, 640), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root,
                 data_prefix=dict(img_path='images/train2017',
                                  seg_map_path='annotations/train2017'),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root,
                 data_prefix=dict(img_path='images/val2017', seg_map_path='annotations/val2017'),
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

# optimisation: CLIP parts at 0.01x; no weight decay on norms (detectron2's default)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, weight_decay=1e-4),
    clip_grad=dict(max_norm=0.01, norm_type=2),
    paramwise_cfg=dict(norm_decay_mult=0.0,
                       custom_keys={'backbone': dict(lr_mult=0.01),
                                    'text_encoder': dict(lr_mult=0.01)}))
max_iters = 80000
# detectron2 WarmupCosineLR; CAT-Seg's configs/config.yaml sets WARMUP_ITERS 0, so the warm-up
# is off by default here too (set warmup_iters > 0 for a linear warm-up)
warmup_iters = 0
param_scheduler = ([dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
                         end=warmup_iters)] if warmup_iters > 0 else []) + [
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=False, begin=warmup_iters,
         end=max_iters)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='DeCLIPCheckpointHook', by_epoch=False, interval=5000),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
auto_scale_lr = dict(enable=False, base_batch_size=4)
