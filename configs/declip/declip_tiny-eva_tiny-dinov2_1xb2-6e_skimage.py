# Tiny DeCLIP distillation on a CPU, offline, with random weights: 300 iterations (a measured
# run: docs/distillation.md, "The tiny config"). A 4-block EVA02-style student
# (declip_mm.testing.TINY_EVA), a 2-block DINOv2-style VFM (patch 14, 4 registers) and four
# CC0 / public-domain scikit-image photos read in memory through skimage:// paths
# (declip_mm/datasets/distill/skimage_backend.py; nothing is written to disk).
# 4 photos x 25 repeats / batch 2 = 50 iterations per epoch, 6 epochs = 300 iterations.
#   python tools/train.py configs/declip/declip_tiny-eva_tiny-dinov2_1xb2-6e_skimage.py
#   bash tools/dist_train.sh configs/declip/declip_tiny-eva_tiny-dinov2_1xb2-6e_skimage.py 2
#     (without GPUs the tools start gloo and wrap the CPU model in DDP themselves)
# The official recipe (qq mode, Q context, k_proj frozen, warm-up then cosine over the rest, seed 0)
# with the lr raised to 1e-3 (random tiny models move little at 1e-5) and a 20-iteration warm-up.
_base_ = ['../_base_/schedules/declip-distill_adamw_6e.py',
           '../_base_/default_runtime_distill.py']

student_size, student_patch = 96, 8      # 12 x 12 token grid
vfm_patch = 14
vfm_size = student_size // student_patch * vfm_patch   # 168: VFM grid 12 x 12
crop_size = 32

tiny_eva = dict(
    embed_dim=32,
    text_cfg=dict(context_length=77, vocab_size=49408, width=32, heads=2, layers=2),
    vision_cfg=dict(image_size=32, layers=4, width=64, head_width=16, patch_size=8,
                    mlp_ratio=2.6667, rope=True, subln=True, naiveswiglu=True, pt_hw_seq_len=4))

model = dict(
    type='DeCLIPDistiller',
    student=dict(type='DeCLIPViT', arch=tiny_eva, mode='qq'),
    vfm=dict(type='DeCLIPDINOv2Teacher', arch='vitb14_reg',
             arch_overrides=dict(embed_dim=48, depth=2, num_heads=3, img_size=vfm_size)),
    content_loss=dict(type='DeCLIPContentLoss', loss_weight=1.0),
    context_loss=dict(type='DeCLIPContextLoss', loss_weight=0.1),
    data_preprocessor=dict(type='DeCLIPDistillDataPreprocessor'))

train_pipeline = [
    dict(type='DeCLIPLoadImageFromFile'),
    dict(type='DeCLIPGridRegions', max_split=6, max_boxes=20),
    dict(type='DeCLIPRegionCrops', size=crop_size),
    dict(type='DeCLIPResizePad', size=vfm_size, out_key='vfm_img'),
    dict(type='DeCLIPResizePad', size=student_size),
    dict(type='PackDeCLIPDistillInputs'),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='RepeatDataset',
        times=25,
        dataset=dict(
            type='DeCLIPUnlabeledImageDataset',
            img_paths=['skimage://astronaut', 'skimage://coffee', 'skimage://chelsea',
                       'skimage://rocket'],
            pipeline=train_pipeline)))

train_cfg = dict(val_interval=100)     # no validation data offline
val_cfg = None
val_dataloader = None
val_evaluator = None
test_cfg = None

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    constructor='DeCLIPDistillOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0))
warmup_iters = 20
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / warmup_iters, by_epoch=False, begin=0,
         end=warmup_iters),
    dict(type='DeCLIPCosineAfterWarmupLR', warmup_iters=warmup_iters, eta_min=0.0,
         by_epoch=True, end=6, convert_to_iter_based=True),
]

default_hooks = dict(logger=dict(type='LoggerHook', interval=10),
                     checkpoint=dict(type='DeCLIPCheckpointHook', interval=6))
custom_hooks = [dict(type='DeCLIPLossSyncHook'),
                dict(type='DeCLIPEnsembleCheckpointHook', alpha=0.7, interval=1)]
log_processor = dict(window_size=10)
randomness = dict(seed=0)
