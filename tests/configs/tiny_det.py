# A stock mmdet Faster R-CNN whose backbone is a tiny DeCLIPViT: the foundation smoke test.
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    '../../configs/_base_/default_runtime_det.py',
]
custom_imports = dict(imports=['declip_mm'], allow_failed_imports=False)
from declip_mm.testing import TINY_EVA  # noqa: E402

data_root = 'data/tiny_coco/'
classes = ('red box', 'blue box')
model = dict(
    data_preprocessor=dict(mean=[122.77, 116.75, 104.09], std=[68.50, 66.63, 70.32],
                           pad_size_divisor=8),
    backbone=dict(_delete_=True, type='DeCLIPViT', arch=TINY_EVA, mode='csa',
                  out_indices=(1, 3), frozen=True),
    neck=dict(in_channels=[64, 64], out_channels=32, num_outs=2),
    rpn_head=dict(in_channels=32, feat_channels=32,
                  anchor_generator=dict(scales=[2, 4], strides=[8, 8])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=32, featmap_strides=[8, 8]),
        bbox_head=dict(in_channels=32, fc_out_channels=64, num_classes=2)),
    train_cfg=dict(rpn_proposal=dict(nms_pre=200, max_per_img=50),
                   rcnn=dict(sampler=dict(num=32))),
    test_cfg=dict(rpn=dict(nms_pre=200, max_per_img=50)))
pipeline_train = [
    dict(type='DeCLIPLoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(64, 64), keep_ratio=True),
    dict(type='PackDetInputs'),
]
pipeline_test = [
    dict(type='DeCLIPLoadImageFromFile'),
    dict(type='Resize', scale=(64, 64), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                          'scale_factor')),
]
dataset = dict(type='CocoDataset', data_root=data_root, ann_file='annotations.json',
               data_prefix=dict(img='images/'), metainfo=dict(classes=classes))
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        sampler=dict(type='DefaultSampler', shuffle=True),
                        batch_sampler=dict(type='AspectRatioBatchSampler'),
                        dataset=dict(dataset, pipeline=pipeline_train,
                                     filter_cfg=dict(filter_empty_gt=True)))
val_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False, drop_last=False,
                      sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(dataset, pipeline=pipeline_test, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations.json', metric='bbox')
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=1, val_interval=1)
optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True)]
default_hooks = dict(checkpoint=dict(interval=1), logger=dict(interval=1))
