# F-ViT with a mask branch (Mask R-CNN): declip-fvit_eva02-b16_fpn.py plus the parts in which
# mmdet's mask-rcnn_r50_fpn.py differs from its faster-rcnn_r50_fpn.py (mask RoI extractor, FCN
# mask head, mask targets, padded masks, low-quality matches), with F-ViT's class-agnostic,
# normalised mask head.
_base_ = './declip-fvit_eva02-b16_fpn.py'

model = dict(
    data_preprocessor=dict(pad_mask=True),
    roi_head=dict(
        mask_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
            out_channels=256, featmap_strides=[4, 8, 16, 32]),
        mask_head=dict(
            type='FCNMaskHead', num_convs=4, in_channels=256, conv_out_channels=256,
            num_classes=80, class_agnostic=True, norm_cfg=_base_.norm_cfg,
            loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))),
    train_cfg=dict(rcnn=dict(assigner=dict(match_low_quality=True), mask_size=28)),
    test_cfg=dict(rcnn=dict(mask_thr_binary=0.5)))
