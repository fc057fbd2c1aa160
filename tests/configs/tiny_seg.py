# A stock mmseg EncoderDecoder whose backbone is a tiny DeCLIPViT: the foundation smoke test.
_base_ = ['../../configs/_base_/default_runtime_seg.py']
custom_imports = dict(imports=['declip_mm'], allow_failed_imports=False)
from declip_mm.testing import TINY_VIT  # noqa: E402

data_root = 'data/tiny_seg/'
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[122.77, 116.75, 104.09],
                           std=[68.50, 66.63, 70.32], bgr_to_rgb=True, pad_val=0,
                           seg_pad_val=255, size_divisor=8),
    backbone=dict(type='DeCLIPViT', arch=TINY_VIT, mode='csa', out_indices=(3,), frozen=2),
    decode_head=dict(type='FCNHead', in_channels=64, channels=32, num_convs=1, num_classes=3,
                     concat_input=False, dropout_ratio=0.0, align_corners=False,
                     loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False,
                                      loss_weight=1.0)),
    train_cfg=dict(), test_cfg=dict(mode='whole'))
pipeline_train = [
    dict(type='DeCLIPLoadImageFromFile'), dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
pipeline_test = pipeline_train
dataset = dict(type='BaseSegDataset', data_root=data_root, img_suffix='.png',
               seg_map_suffix='.png', data_prefix=dict(img_path='img_dir', seg_map_path='ann_dir'),
               metainfo=dict(classes=('background', 'red box', 'blue disc'),
                             palette=[[0, 0, 0], [255, 0, 0], [0, 0, 255]]))
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(dataset, pipeline=pipeline_train))
val_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False,
                      sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(dataset, pipeline=pipeline_test))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.01))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=4, val_interval=4)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(type='DeCLIPCheckpointHook', by_epoch=False, interval=2),
                     logger=dict(type='LoggerHook', interval=1))
