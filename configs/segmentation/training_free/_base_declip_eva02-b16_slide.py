# Training-free DeCLIP segmentation: shared model, runtime and evaluation settings.
# Evaluate with the DeCLIP segmentation weights (an official DeCLIP .pt is accepted as is):
#   python tools/test.py configs/segmentation/training_free/declip_eva02-b16_slide_voc21.py \
#       checkpoints/evab_dinov2B_csa_560_0.25_seg.pt
# Settings from the xiaomoguhz/DeCLIP ZSSS branch (DECLIP_METHOD.md section 6).
_base_ = ['../../_base_/default_runtime_seg.py']
custom_imports = dict(imports=['declip_mm'], allow_failed_imports=False)

arch = 'EVA02-CLIP-B-16'
model = dict(
    type='DeCLIPTrainingFreeSegmentor',
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[122.7709383, 116.7460125, 104.09373615],
                           std=[68.5005327, 66.6321579, 70.32316305], bgr_to_rgb=True),
    # the ZSSS branch scales the decoupled attention logits by head_dim ** -0.5
    backbone=dict(type='DeCLIPViT', arch=arch, mode='csa', attn_scale='head_dim', frozen=True),
    text_encoder=dict(type='DeCLIPTextEncoder', arch=arch, templates='imagenet'),
    class_names='voc21',
    logit_scale=40,
    prob_thd=0.0,
    bg_idx=0,
    slide_crop=336,
    slide_stride=112)

# short side 448; labels are loaded after the resize, so metrics use the original size
test_pipeline = [
    dict(type='DeCLIPLoadImageFromFile'),
    dict(type='Resize', scale=(2048, 448), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(pipeline=test_pipeline))
test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='DeCLIPCheckpointHook', by_epoch=False, interval=2000),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook', draw=False, interval=1))
