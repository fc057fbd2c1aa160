# F-ViT (CLIPSelf's F-ViT/models/fvit.py design on mmdet 3's Faster R-CNN) on the frozen DeCLIP
# EVA02-CLIP-B/16: the ViT's blocks (3, 5, 7, 11), the last run in DeCLIP's decoupled 'csa'
# mode, feed F-ViT's pyramid adapter (strides 4 / 8 / 16 / 32) and an FPN; the RoI head's box
# head classifies region embeddings against text embeddings and, at test time, fuses its scores
# with the dense DeCLIP map pooled per box (docs/detection.md).
# The dataset-specific parts (vocabulary, base classes, fusion weights and temperatures,
# test thresholds, padding to the image size) are set by the configs in configs/ovcoco/ and
# configs/ovlvis/.
# Options kept for CLIM-style configs: CLIP normalisation (data_preprocessor mean / std), a
# learned background (bbox_head.background='learn'), a 1024-wide head with a projection
# (region_embedding='projection', fc_out_channels=1024, num_cls_fcs=0, num_reg_fcs=0).
_base_ = 'mmdet::_base_/models/faster-rcnn_r50_fpn.py'

arch = 'EVA02-CLIP-B-16'
clip_checkpoint = 'checkpoints/DeCLIP_EVA-B_DINOv2-B_csa_0.05_2.0.pt'
width, embed_dim, patch = 768, 512, 16
norm_cfg = dict(type='SyncBN', requires_grad=True)
imagenet_mean = [123.675, 116.28, 103.53]  # RGB; F-ViT's normalisation
imagenet_std = [58.395, 57.12, 57.375]

model = dict(
    type='DeCLIPFViT',
    text_encoder=dict(
        type='DeCLIPTextEncoder', arch=arch, templates='fvit',
        init_cfg=dict(type='Pretrained', checkpoint=clip_checkpoint)),
    data_preprocessor=dict(
        type='DetDataPreprocessor', mean=imagenet_mean, std=imagenet_std, bgr_to_rgb=True),
    backbone=dict(
        _delete_=True, type='DeCLIPViT', arch=arch, mode='csa', out_indices=(3, 5, 7, 11),
        frozen=True, init_cfg=dict(type='Pretrained', checkpoint=clip_checkpoint)),
    neck=[
        dict(type='DeCLIPPyramidAdapter', in_channels=width, scales=(4, 2, 1, 0.5),
             norm_cfg=norm_cfg),
        dict(type='FPN', in_channels=[width] * 4, out_channels=256, num_outs=5,
             norm_cfg=norm_cfg),
    ],
    rpn_head=dict(num_convs=2),
    roi_head=dict(
        type='DeCLIPFViTRoIHead',
        vlm_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=1, sampling_ratio=0,
                           use_torchvision=True),
            out_channels=embed_dim, featmap_strides=[patch]),
        bbox_head=dict(
            _delete_=True, type='DeCLIPOVBBoxHead', embed_dim=embed_dim,
            region_embedding='cls_fc', in_channels=256, roi_feat_size=7,
            num_shared_convs=4, num_shared_fcs=2, num_cls_fcs=1, num_reg_fcs=1,
            conv_out_channels=256, fc_out_channels=embed_dim, norm_cfg=norm_cfg,
            temperature=50.0, learn_temperature=True, background='text',
            reg_class_agnostic=True,
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.],
                            target_stds=[0.1, 0.1, 0.2, 0.2]),
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
    test_cfg=dict(
        rpn=dict(nms_pre=2000, max_per_img=1000, nms=dict(type='nms', iou_threshold=0.7),
                 min_bbox_size=0)))
