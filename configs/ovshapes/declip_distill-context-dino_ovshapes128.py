# DeCLIP distillation in the 128 px world with content AND context loss from the DINO stand-in
# VFM (declip_mm/assets/ovshapes/tiny_vfm_dino.pt, trained on 64 px scenes; it sees the 128 px
# scene, a 16 x 16 grid like the student's, its position embedding resized at run time):
# declip_distill-context_ovshapes128.py with the DINO checkpoint. docs/ovshapes.md, "The context
# half, measured".
#
#   python tools/train.py configs/ovshapes/declip_distill-context-dino_ovshapes128.py
_base_ = ['./declip_distill-context_ovshapes128.py']

model = dict(vfm=dict(checkpoint='declip_mm://assets/ovshapes/tiny_vfm_dino.pt'))
