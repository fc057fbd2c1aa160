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
    '../_base_/models/declip-fvit_eva02-b16_fpn_mask.py',
    '../_base_/datasets/ov-lvis_instance.py',
    '../_base_/schedules/fvit_adamw_48e.py',
    '../_base_/default_runtime_det.py',
]

model = dict(
    vocabulary='lvis_v1',  # 1203 classes, LVIS id order
    base_classes='lvis_v1_base',  # frequent + common; the rare ones are novel
    data_preprocessor=dict(pad_size_divisor=_base_.image_size[0]),  # 0-padding after norm.
    # F-ViT's CustomRPNHead: its two convs are normalised (SyncBN)
    rpn_head=dict(type='DeCLIPNormRPNHead', norm_cfg=_base_.norm_cfg),
    roi_head=dict(
        bbox_head=dict(bg_weight=0.9, vlm_temperature=50.0, alpha=0.1, beta=0.6)),
    test_cfg=dict(
        rcnn=dict(score_thr=1e-4, nms=dict(type='nms', iou_threshold=0.5), max_per_img=300)))

default_hooks = dict(checkpoint=dict(type='DeCLIPCheckpointHook', interval=4, max_keep_ckpts=3))
