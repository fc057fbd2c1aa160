# DeCLIP distillation on OV-Shapes with BOTH losses: content (as in declip_distill_ovshapes.py)
# and context, whose teacher is a stand-in vision foundation model trained on the scenes by
# the project (no DINOv2 weights exist offline): declip_mm/assets/ovshapes/tiny_vfm.pt, a tiny
# DINO-layout ViT (width 96, 4 blocks, patch 8 -> the student's 8 x 8 grid at 64 px) trained
# self-supervised by masked image modelling (tools/ovshapes/pretrain_vfm.py).
#
# Whether the context term helps in this world is measured by tools/ovshapes/ladder.py
# --distill-config configs/ovshapes/declip_distill-context_ovshapes.py --context-weight W
# (docs/ovshapes.md, the context sweep).
#
#   python tools/train.py configs/ovshapes/declip_distill-context_ovshapes.py
_base_ = ['./declip_distill_ovshapes.py']

# modules, not names: a config keeps no imported constants, and shipped files are named
# 'declip_mm://...' (resolved where they are read), so a saved config holds no machine paths
import declip_mm.datasets.ov_shapes.arch as ovs_arch

vfm_size = ovs_arch.OV_SHAPES_VFM_OVERRIDES['img_size']  # patch 8: an 8 x 8 grid, the student's
context_weight = 0.25

model = dict(
    vfm=dict(_delete_=True, type='DeCLIPDINOTeacher', arch='vitb8',
             checkpoint='declip_mm://assets/ovshapes/tiny_vfm.pt',
             arch_overrides=ovs_arch.OV_SHAPES_VFM_OVERRIDES),
    context_loss=dict(type='DeCLIPContextLoss', loss_weight=context_weight))

train_pipeline = [
    dict(type='DeCLIPLoadImageFromFile'),
    dict(type='DeCLIPGridRegions', max_split=4, max_boxes=20),
    dict(type='DeCLIPRegionCrops', size=32),
    dict(type='DeCLIPResizePad', size=vfm_size, out_key='vfm_img'),
    dict(type='DeCLIPResizePad', size=64),
    dict(type='PackDeCLIPDistillInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
