# DeCLIP distillation on OV-Shapes with content AND context loss, the context teacher being the
# DINO stand-in VFM: declip_mm/assets/ovshapes/tiny_vfm_dino.pt, the same tiny DINO-layout ViT
# as declip_distill-context_ovshapes.py's SimMIM one (width 96, 4 blocks, patch 8), trained on
# the scenes by self-distillation with multi-crop and an iBOT-style masked patch term, with
# the ImageNet normalisation the distiller feeds it (tools/ovshapes/pretrain_vfm.py
# --method dino: 1,100 steps of 64 scenes, 22 min on 2 CPU threads). Same-object patch-pair
# affinity AUC on the 1,500 test scenes (context_sweep.teacher_aucs), as the distiller feeds
# it: DINO 93.9, SimMIM 87.8; for scale, a randomly initialised ViT of this shape gives
# 92.3 / 91.7 (seeds 0 / 1) and the content-only student's own context features 92.2, so the
# DINO stand-in is only a little better than no training. Everything else is as in
# declip_distill-context_ovshapes.py. docs/ovshapes.md, "The context half, measured".
#
#   python tools/train.py configs/ovshapes/declip_distill-context-dino_ovshapes.py
_base_ = ['./declip_distill-context_ovshapes.py']

model = dict(vfm=dict(checkpoint='declip_mm://assets/ovshapes/tiny_vfm_dino.pt'))
