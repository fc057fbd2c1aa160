# F-ViT on the plain tiny CLIP (`vanilla` last block) in the 128 px world: the baseline of
# fvit_tiny-declip_ovshapes128.py.
#
#   python tools/train.py configs/ovshapes/fvit_tiny-clip_ovshapes128.py
_base_ = ['./fvit_tiny-declip_ovshapes128.py']

model = dict(backbone=dict(mode='vanilla',
                           init_cfg=dict(type='Pretrained',
                                         checkpoint='declip_mm://assets/ovshapes/tiny_clip128.pt')))
