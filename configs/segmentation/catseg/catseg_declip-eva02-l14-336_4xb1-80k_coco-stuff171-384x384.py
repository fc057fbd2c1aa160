# CAT-Seg with the DeCLIP EVA02-L/14 backbone at 336^2 (24x24 grid), guidance blocks 7 and 15
# (the DeCLIP CAT-Seg branch's configs/eva_vitl_336.yaml); otherwise as the B/16 config.
_base_ = './catseg_declip-eva02-b16_4xb1-80k_coco-stuff171-384x384.py'
arch = 'EVA02-CLIP-L-14-336'
declip_checkpoint = 'checkpoints/DeCLIP_EVA-L_DINOv2-L_csa_0.05_2.0.pt'
model = dict(
    backbone=dict(arch=arch, out_indices=(7, 15),
                  init_cfg=dict(type='Pretrained', checkpoint=declip_checkpoint)),
    text_encoder=dict(arch=arch, init_cfg=dict(type='Pretrained', checkpoint=declip_checkpoint)),
    neck=dict(embed_dim=768),
    decode_head=dict(clip_width=1024),
    clip_resolution=(336, 336))
