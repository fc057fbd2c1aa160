# Plain-CLIP baseline of configs/ovcoco/declip_fvit.py: CLIPSelf's "original" F-ViT, i.e. the
# same detector on the original EVA02-CLIP-B/16 with its last block run MaskCLIP-style
# (mode='maskclip': value path + residual + MLP, no attention; CLIPSelf's
# forward_without_attn). The mode and the weights are the only changes.
_base_ = './declip_fvit.py'

eva_clip = 'checkpoints/EVA02_CLIP_B_psz16_s8B.pt'  # the original EVA-CLIP weights

model = dict(
    text_encoder=dict(init_cfg=dict(type='Pretrained', checkpoint=eva_clip)),
    backbone=dict(mode='maskclip', init_cfg=dict(type='Pretrained', checkpoint=eva_clip)))
