# DeCLIP F-ViT on OV-COCO with the EVA02-CLIP-L/14 DeCLIP backbone at 896x896: CLIPSelf's
# F-ViT L/14 OV-COCO recipe (fvit_vitl14_upsample_fpn_bs64_3e_ovcoco_eva_original.py) with the
# DeCLIP csa last block: blocks (6, 10, 14, 23), strides 3.5 / 7 / 14 / 28 (/ 56 for the RPN),
# text dim 768, head width 768. Everything else as configs/ovcoco/declip_fvit.py.
_base_ = './declip_fvit.py'

arch = 'EVA02-CLIP-L-14-336'
clip_checkpoint = 'checkpoints/DeCLIP_EVA-L_DINOv2-L_csa_0.05_2.0.pt'
image_size = (896, 896)
width, embed_dim, patch = 1024, 768, 14
norm_cfg = dict(type='SyncBN', requires_grad=True)

model = dict(
    text_encoder=dict(arch=arch, init_cfg=dict(type='Pretrained', checkpoint=clip_checkpoint)),
    data_preprocessor=dict(pad_size_divisor=image_size[0]),
    backbone=dict(arch=arch, out_indices=(6, 10, 14, 23),
                  init_cfg=dict(type='Pretrained', checkpoint=clip_checkpoint)),
    neck=[
        dict(type='DeCLIPPyramidAdapter', in_channels=width, scales=(4, 2, 1, 0.5),
             norm_cfg=norm_cfg),
        dict(type='FPN', in_channels=[width] * 4, out_channels=256, num_outs=5,
             norm_cfg=norm_cfg),
    ],
    rpn_head=dict(anchor_generator=dict(strides=[3.5, 7, 14, 28, 56])),
    roi_head=dict(
        bbox_roi_extractor=dict(featmap_strides=[3.5, 7, 14, 28]),
        vlm_roi_extractor=dict(out_channels=embed_dim, featmap_strides=[patch]),
        bbox_head=dict(embed_dim=embed_dim, fc_out_channels=embed_dim)))

train_pipeline = [
    dict(type='DeCLIPLoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=image_size, ratio_range=(0.1, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_type='absolute_range', crop_size=image_size,
         recompute_bbox=True, allow_negative_crop=True),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='DeCLIPLoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'text',
                    'custom_entities')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
