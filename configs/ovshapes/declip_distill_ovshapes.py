# DeCLIP distillation of the OV-Shapes tiny CLIP -> the shipped tiny DeCLIP encoder
# (declip_mm/assets/ovshapes/tiny_declip.pt; command and seed in docs/getting_started.md, section 5).
#
# The official recipe (configs/_base_/schedules/declip-distill_adamw_6e.py,
# configs/_base_/default_runtime_distill.py) on the proving ground:
# * student: the tiny CLIP image tower (OV_SHAPES_CLIP, 4 blocks of width 96, patch 8) in 'csa'
#   mode, initialised from declip_mm/assets/ovshapes/tiny_clip.pt; content teacher: its frozen
#   copy (plain CLIP tower); frozen parts: the official OpenAI-style list;
# * data: OV-Shapes train_base scenes (the 24 base classes only, no labels read), 64 x 64;
#   pseudo-regions from grids of up to 4 x 4 cells (cells of 16 px or more: objects are
#   14-40 px), crops at 32 px for the teacher (the tiny CLIP's crop-classification size);
# * content loss only: no vision foundation model is available offline, so the context loss
#   has weight 0. The distiller still builds a context teacher; a 2-block random DINOv2-style
#   network stands in for it and its output is multiplied by 0;
# * AdamW lr 3e-4 (the tiny CLIP moves little at the official 1e-5 in a few hundred steps; the
#   lr comparison is in docs/getting_started.md, section 5), fp32, batch 16, 4 epochs of 2000
#   scenes; alpha-ensembled backbone (alpha 0.7, as for B) written after every epoch.
#
#   python tools/ovshapes/make_data.py --splits train_base --num 2000
#   python tools/train.py configs/ovshapes/declip_distill_ovshapes.py
#   python tools/ovshapes/eval_dense.py \
#       --checkpoint work_dirs/declip_distill_ovshapes/declip_backbone_epoch_4.pth
_base_ = ['../_base_/schedules/declip-distill_adamw_6e.py',
           '../_base_/default_runtime_distill.py']

# modules, not names: a config keeps no imported constants, and shipped files are named
# 'declip_mm://...' (resolved where they are read), so a saved config holds no machine paths
import declip_mm.datasets.ov_shapes.arch as ovs_arch

student_size, student_patch = 64, 8       # 8 x 8 token grid, the F-ViT input size
vfm_patch = 14
vfm_size = student_size // student_patch * vfm_patch   # 112: VFM grid 8 x 8
crop_size = 32
num_scenes = 2000
max_epochs = 4
data_root = 'data/ovshapes/'

model = dict(
    type='DeCLIPDistiller',
    student=dict(type='DeCLIPViT', arch=ovs_arch.OV_SHAPES_CLIP, mode='csa',
                 init_cfg=dict(type='Pretrained',
                               checkpoint='declip_mm://assets/ovshapes/tiny_clip.pt')),
    vfm=dict(type='DeCLIPDINOv2Teacher', arch='vitb14_reg',
             arch_overrides=dict(embed_dim=48, depth=2, num_heads=3, img_size=vfm_size)),
    content_loss=dict(type='DeCLIPContentLoss', loss_weight=1.0),
    context_loss=dict(type='DeCLIPContextLoss', loss_weight=0.0),
    data_preprocessor=dict(type='DeCLIPDistillDataPreprocessor'))

train_pipeline = [
    dict(type='DeCLIPLoadImageFromFile'),
    dict(type='DeCLIPGridRegions', max_split=4, max_boxes=20),
    dict(type='DeCLIPRegionCrops', size=crop_size),
    dict(type='DeCLIPResizePad', size=vfm_size, out_key='vfm_img'),
    dict(type='DeCLIPResizePad', size=student_size),
    dict(type='PackDeCLIPDistillInputs'),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='DeCLIPUnlabeledImageDataset',
        data_root=data_root,
        ann_file='train_base/annotations.json',   # the image list only; no labels are read
        data_prefix=dict(img='train_base/images/'),
        indices=num_scenes,
        pipeline=train_pipeline))

train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs + 1)  # no panoptic val data
val_cfg = None
val_dataloader = None
val_evaluator = None
test_cfg = None

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    constructor='DeCLIPDistillOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=3e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=0, end=max_epochs,
         T_max=max_epochs, convert_to_iter_based=True),
]

default_hooks = dict(logger=dict(type='LoggerHook', interval=10),
                     checkpoint=dict(type='DeCLIPCheckpointHook', interval=max_epochs,
                                     max_keep_ckpts=1))
# Its own choices where the distillation defaults changed (kept as they were): no text tower in
# the ensembled file, one seed for every rank.
custom_hooks = [dict(type='DeCLIPLossSyncHook'),
                dict(type='DeCLIPEnsembleCheckpointHook', alpha=0.7, interval=1,
                     text_checkpoint=None)]
log_processor = dict(window_size=10)
randomness = dict(seed=0, diff_rank_seed=False)
