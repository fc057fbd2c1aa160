# OV-LVIS as F-ViT trains and tests it: LVIS v1 with the 337 rare classes novel, their
# annotations removed from training (tools/dataset_converters/lvis2ov.py), boxes and masks,
# 1024 x 1024 F-ViT augmentation (random resize 0.1-2.0, crop, flip), mmdet's LVISMetric (mask
# APr is the headline). Configs at another size restate the pipelines with their image_size.
_base_ = 'mmdet::_base_/datasets/lvis_v1_instance.py'

dataset_type = 'DeCLIPOVLVISDataset'  # mmdet LVISV1Dataset + base/novel metainfo + data check
data_root = 'data/lvis_v1/'
image_size = (1024, 1024)
train_pipeline = [
    dict(type='DeCLIPLoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
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
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'text',
                    'custom_entities')),
]
# F-ViT trains on the plain training set (no repeat-factor resampling of mmdet's LVIS base).
train_dataloader = dict(
    batch_size=8, num_workers=8,
    dataset=dict(
        _delete_=True, type=dataset_type, data_root=data_root,
        ann_file='annotations/lvis_v1_train_norare.json', data_prefix=dict(img=''),
        filter_cfg=dict(filter_empty_gt=True, min_size=32), pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='annotations/lvis_v1_val.json', data_prefix=dict(img=''),
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='LVISMetric', metric=['bbox', 'segm'],
                     ann_file=data_root + 'annotations/lvis_v1_val.json')
test_evaluator = val_evaluator
