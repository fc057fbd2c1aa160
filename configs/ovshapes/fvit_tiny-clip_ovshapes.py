# The plain-CLIP baseline of fvit_tiny-declip_ovshapes.py: the same F-ViT on the tiny CLIP
# before DeCLIP distillation, run as plain CLIP (mode 'vanilla': its last block and its dense
# map, used by the test-time fusion, are the original CLIP's). Everything else is identical.
#
#   python tools/train.py configs/ovshapes/fvit_tiny-clip_ovshapes.py
_base_ = ['./fvit_tiny-declip_ovshapes.py']

model = dict(backbone=dict(mode='vanilla',
                           init_cfg=dict(type='Pretrained',
                                         checkpoint='declip_mm://assets/ovshapes/tiny_clip.pt')))
