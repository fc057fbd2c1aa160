# A stock MMSegmentation config turned into a DeCLIP one: mmseg's ViT-B/16 + MLN + UPerNet on
# ADE20K, with the DeCLIP EVA02-B/16 tower as backbone. The lines below are the whole change:
#   1. import declip_mm (registers DeCLIPViT);
#   2. swap the backbone (same width 768 and out_indices, so neck and heads stay as they are);
#   3. drop the stock ImageNet ``pretrained`` path (the DeCLIP weights come with init_cfg);
#   4. normalise pixels with CLIP's mean / std.
#   python tools/train.py configs/examples/mmseg_stock_to_declip.py
_base_ = 'mmseg::vit/vit_vit-b16_mln_upernet_8xb2-80k_ade20k-512x512.py'
custom_imports = dict(imports=['declip_mm'], allow_failed_imports=False)  # 1
model = dict(
    backbone=dict(_delete_=True, type='DeCLIPViT', arch='EVA02-CLIP-B-16', mode='csa',  # 2
                  out_indices=(2, 5, 8, 11),
                  init_cfg=dict(type='Pretrained',
                                checkpoint='checkpoints/DeCLIP_EVA-B_DINOv2-B_csa_0.05_2.0.pt')),
    pretrained=None,  # 3
    data_preprocessor=dict(mean=[122.7709383, 116.7460125, 104.09373615],
                           std=[68.5005327, 66.6321579, 70.32316305]))  # 4
