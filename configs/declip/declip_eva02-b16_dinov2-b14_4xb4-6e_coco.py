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
_base_ = [
    '../_base_/models/declip-distill_eva02-b16_dinov2-b14.py',
    '../_base_/datasets/coco_declip-distill.py',
    '../_base_/schedules/declip-distill_adamw_6e.py',
    '../_base_/default_runtime_distill.py',
]
