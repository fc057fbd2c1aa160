# DeCLIP distillation of EVA02-CLIP-L/14-336 with DINOv2-L/14 (registers), COCO train2017
# images, as scripts/dist_DeCLIP_eva_vitL14_336_coco.sh runs it: 4 GPUs x 2 images (a total batch
# of 8 at lr 1e-5, although the script's comment asks for a total of 16), 6 epochs, AMP,
# qq_vfm_distill, 560 px student view (40 x 40 grid), 336 px crops, ensemble alpha 0.95.
#   bash tools/dist_train.sh configs/declip/declip_eva02-l14-336_dinov2-l14_4xb2-6e_coco.py 4
# 'csa' variant: declip_eva02-l14-336_dinov2-l14_4xb2-6e_coco_csa.py
_base_ = ['./declip_eva02-b16_dinov2-b14_4xb4-6e_coco.py']

clip_checkpoint = 'checkpoints/EVA02_CLIP_L_336_psz14_s6B.pt'
vfm_checkpoint = 'checkpoints/dinov2_vitl14_reg4_pretrain.pth'
class_embeddings = 'checkpoints/coco_panoptic_clip_hand_craft_EVACLIP_ViTL14x336.npy'

student_size, student_patch = 560, 14           # 40 x 40 token grid
vfm_patch = 14
vfm_size = student_size // student_patch * vfm_patch   # 560
crop_size = 336

model = dict(
    student=dict(arch='EVA02-CLIP-L-14-336',
                 init_cfg=dict(type='Pretrained', checkpoint=clip_checkpoint)),
    vfm=dict(arch='vitl14_reg', checkpoint=vfm_checkpoint),
    val_classifier=dict(class_embeddings=class_embeddings))

train_pipeline = [
    dict(type='DeCLIPLoadImageFromFile'),
    dict(type='DeCLIPGridRegions', max_split=6, max_boxes=20),
    dict(type='DeCLIPRegionCrops', size=crop_size),
    dict(type='DeCLIPResizePad', size=vfm_size, out_key='vfm_img'),
    dict(type='DeCLIPResizePad', size=student_size),
    dict(type='PackDeCLIPDistillInputs'),
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))

val_pipeline = [
    dict(type='DeCLIPLoadImageFromFile'),
    dict(type='DeCLIPLoadPanopticRegions', min_size=8, max_size=1024, max_regions=100),
    dict(type='DeCLIPRegionEvalCrops', size=crop_size),
    dict(type='DeCLIPResizePad', size=student_size),
    dict(type='DeCLIPRegionMasksToGrid', grid=student_size // student_patch),
    dict(type='PackDeCLIPRegionInputs'),
]
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))

custom_hooks = [dict(type='DeCLIPLossSyncHook'),
                dict(type='DeCLIPEnsembleCheckpointHook', alpha=0.95, interval=1)]
