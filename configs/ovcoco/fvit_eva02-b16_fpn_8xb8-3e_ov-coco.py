# Plain-CLIP baseline of configs/ovcoco/declip_fvit.py: the same F-ViT on the original
# EVA02-CLIP-B/16, its last block run unmodified (mode='vanilla'). The one line that matters
# is the mode; init_cfg points at the original EVA-CLIP weights instead of DeCLIP's.
# (mode='maskclip' gives CLIPSelf's original F-ViT last block: value path with residual + MLP.)
_base_ = './declip_fvit.py'

eva_clip = 'checkpoints/EVA02_CLIP_B_psz16_s8B.pt'  # the original EVA-CLIP weights

model = dict(backbone=dict(mode='vanilla', init_cfg=dict(type='Pretrained', checkpoint=eva_clip)))
