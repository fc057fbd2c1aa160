# Add DeCLIP to an existing MMDetection config: the stock Faster R-CNN on COCO
# (mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py, its data, schedule and runtime untouched)
# with the frozen DeCLIP ViT as backbone, F-ViT's pyramid adapter in front of its FPN, and the
# open-vocabulary head (text-embedding classifier + test-time fusion with the dense DeCLIP
# map). The vocabulary is the dataset's 80 classes; any other list of words can be used at
# test time (docs/detection.md). Only the lines below differ from the stock config.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['declip_mm'], allow_failed_imports=False)
ckpt = 'checkpoints/DeCLIP_EVA-B_DINOv2-B_csa_0.05_2.0.pt'

model = dict(
    type='DeCLIPFViT',  # 1. detector: TwoStageDetector + vocabulary + VLM fusion
    vocabulary='coco',
    text_encoder=dict(type='DeCLIPTextEncoder', arch='EVA02-CLIP-B-16',
                      init_cfg=dict(type='Pretrained', checkpoint=ckpt)),
    data_preprocessor=dict(mean=[122.7709383, 116.7460125, 104.09373615],
                           std=[68.5005327, 66.6321579, 70.32316305]),  # CLIP
    backbone=dict(_delete_=True, type='DeCLIPViT', arch='EVA02-CLIP-B-16',  # 2. backbone
                  init_cfg=dict(type='Pretrained', checkpoint=ckpt)),
    neck=[dict(type='DeCLIPPyramidAdapter', in_channels=768),  # 3. neck: adapters + stock FPN
          dict(type='FPN', in_channels=[768] * 4, out_channels=256, num_outs=5)],
    roi_head=dict(
        type='DeCLIPFViTRoIHead',  # 4. OV head
        vlm_roi_extractor=dict(type='SingleRoIExtractor', out_channels=512, featmap_strides=[16],
                               roi_layer=dict(type='RoIAlign', output_size=1, sampling_ratio=0,
                                              use_torchvision=True)),
        bbox_head=dict(type='DeCLIPOVBBoxHead', embed_dim=512, reg_class_agnostic=True)))
# Optional: F-ViT's optimiser (the stock SGD 0.02 also runs).
optim_wrapper = dict(optimizer=dict(_delete_=True, type='AdamW', lr=1e-4, weight_decay=0.1),
                     clip_grad=dict(max_norm=1.0, norm_type=2))
