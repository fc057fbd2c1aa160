# DeCLIP distillation of EVA02-CLIP-B/16 with DINOv2-B/14 (registers) as the context teacher,
# on the COCO train2017 images (labels unused); 4 GPUs x 4 images, 6 epochs, AMP.
#   bash tools/dist_train.sh configs/declip/declip_eva02-b16_dinov2-b14_4xb4-6e_coco.py 4
# The official recipe (scripts/dist_DeCLIP_eva_vitb16_coco.sh, --mode qq_vfm_distill): qq content
# attention, Q as the context feature, the last block's k_proj frozen (with the rest of the
# official freeze list), content weight 1.0, context weight 0.1, 560 px student view, 224 px
# crops, DINOv2-B/14 view with the student's 35 x 35 grid, alpha 0.7, seed 0.
# Every epoch writes work_dirs/<cfg>/declip_backbone_epoch_<n>.pth = 0.7 student + 0.3 CLIP
# (plus the CLIP's text tower) and validates it, in qq inference mode.
# The 'csa' variant (merged-head Q and K context, the released checkpoints' inference mode):
#   declip_eva02-b16_dinov2-b14_4xb4-6e_coco_csa.py
# The later (TPAMI-era) setting uses a context weight of 0.25:
#   --cfg-options model.context_loss.loss_weight=0.25
_base_ = ['./_base_/distill_runtime_6e.py']

data_root = 'data/coco/'
clip_checkpoint = 'checkpoints/EVA02_CLIP_B_psz16_s8B.pt'          # EVA-CLIP release
vfm_checkpoint = 'checkpoints/dinov2_vitb14_reg4_pretrain.pth'     # torch.hub DINOv2 file
# official DeCLIP metadata/ file: (133, 512) COCO-panoptic class embeddings
class_embeddings = 'checkpoints/coco_panoptic_clip_hand_craft_EVACLIP_ViTB16.npy'

student_size, student_patch = 560, 16           # 35 x 35 token grid
vfm_patch = 14
vfm_size = student_size // student_patch * vfm_patch   # 490: the VFM grid equals the student's
crop_size = 224

model = dict(
    type='DeCLIPDistiller',
    student=dict(type='DeCLIPViT', arch='EVA02-CLIP-B-16', mode='qq', attn_scale='auto',
                 init_cfg=dict(type='Pretrained', checkpoint=clip_checkpoint)),
    vfm=dict(type='DeCLIPDINOv2Teacher', arch='vitb14_reg', checkpoint=vfm_checkpoint, fp16=True),
    content_loss=dict(type='DeCLIPContentLoss', loss_weight=1.0),
    context_loss=dict(type='DeCLIPContextLoss', loss_weight=0.1),
    val_classifier=dict(type='DeCLIPRegionTextClassifier', class_embeddings=class_embeddings),
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
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='DeCLIPUnlabeledImageDataset',
        data_root=data_root,
        ann_file='annotations/instances_train2017.json',   # '' scans data_prefix.img instead
        data_prefix=dict(img='train2017/'),
        pipeline=train_pipeline))

val_pipeline = [
    dict(type='DeCLIPLoadImageFromFile'),
    dict(type='DeCLIPLoadPanopticRegions', min_size=8, max_size=1024, max_regions=100),
    dict(type='DeCLIPRegionEvalCrops', size=crop_size),
    dict(type='DeCLIPResizePad', size=student_size),
    dict(type='DeCLIPRegionMasksToGrid', grid=student_size // student_patch),
    dict(type='PackDeCLIPRegionInputs'),
]
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='DeCLIPCocoPanopticRegionDataset',
        data_root=data_root,
        ann_file='annotations/panoptic_val2017.json',
        data_prefix=dict(img='val2017/', seg='annotations/panoptic_val2017/'),
        test_mode=True,
        pipeline=val_pipeline))
val_evaluator = dict(type='DeCLIPRegionClsMetric')

custom_hooks = [dict(type='DeCLIPLossSyncHook'),
                dict(type='DeCLIPEnsembleCheckpointHook', alpha=0.7, interval=1)]
