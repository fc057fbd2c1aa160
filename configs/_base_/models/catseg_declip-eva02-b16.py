# CAT-Seg (CVPR design) on the DeCLIP EVA02-CLIP-B/16, as the DeCLIP CAT-Seg branch's
# configs/eva_vitb_384.yaml builds it: CLIP input 384^2 (a 24 x 24 grid), guidance from blocks 3
# and 7, the csa content map as CLIP's dense features, prompt 'A photo of a {} in the scene',
# 2 aggregation layers, CLIP q / v (visual) and in-projection (text) weights trainable (the
# rest of both towers frozen). The vocabulary and the crop size are set by the configs in
# configs/segmentation/catseg/.
arch = 'EVA02-CLIP-B-16'
declip_checkpoint = 'checkpoints/DeCLIP_EVA-B_DINOv2-B_csa_0.05_2.0.pt'  # DeCLIP weights
model = dict(
    type='DeCLIPCATSeg',
    # CLIP's mean / std as CAT-Seg's CLIP_PIXEL_MEAN / STD (cat_seg/config.py), unrounded
    data_preprocessor=dict(type='SegDataPreProcessor',
                           mean=[122.7709383, 116.7460125, 104.09373615],
                           std=[68.5005327, 66.6321579, 70.3231630], bgr_to_rgb=True,
                           pad_val=0, seg_pad_val=255),
    backbone=dict(
        type='DeCLIPViT', arch=arch, mode='csa', attn_scale='auto',
        out_indices=(3, 7), out_dense=True, normalize_dense=True,
        frozen=True,
        trainable=['visual.trunk.blocks.*.attn.q_proj.weight',
                   'visual.trunk.blocks.*.attn.v_proj.weight'],
        init_cfg=dict(type='Pretrained', checkpoint=declip_checkpoint)),
    text_encoder=dict(
        type='DeCLIPCATSegTextEncoder', arch=arch, templates='scene',
        trainable=['transformer.resblocks.*.attn.in_proj_weight'],
        init_cfg=dict(type='Pretrained', checkpoint=declip_checkpoint)),
    neck=dict(
        type='DeCLIPCATSegAggregator', embed_dim=512, hidden_dim=128, num_layers=2,
        num_heads=4, window_size=12, appearance_guidance_dim=128, text_guidance_dim=128,
        pooling_size=(2, 2), test_pooling_size=(1, 1), prompt_channels=1, pad_len=256),
    decode_head=dict(
        type='DeCLIPCATSegHead', in_channels=128, channels=32, clip_width=768,
        decoder_dims=(64, 32), guidance_dims=(256, 128), guidance_proj_dims=(32, 16),
        num_classes=171, loss_decode=dict(type='DeCLIPCATSegBCELoss')),
    clip_resolution=(384, 384),
    # resize to 640^2, 384 windows with overlap 1/3 (stride 256), plus a global 384 view
    test_cfg=dict(mode='slide', crop_size=384, stride=256, out_size=640, global_view=True))
