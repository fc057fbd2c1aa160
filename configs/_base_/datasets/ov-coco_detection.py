# OV-COCO (48 base / 17 novel classes) as F-ViT trains and tests it: mmdet's COCO detection
# data with the zero-shot split files (tools/dataset_converters/coco2ov.py), 640 x 640 F-ViT
# augmentation (random resize 0.1-2.0, crop, flip), base / novel AP50 from mmdet's
# OVCocoMetric. Configs at another size restate the pipelines with their image_size.
_base_ = 'mmdet::_base_/datasets/coco_detection.py'

dataset_type = 'DeCLIPOVCocoDataset'  # mmdet CocoDataset + OV-COCO metainfo + data check
data_root = 'data/coco/'
image_size = (640, 640)
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
train_dataloader = dict(
    batch_size=8, num_workers=8,
    dataset=dict(
        type=dataset_type, data_root=data_root,
        ann_file='zero-shot/instances_train2017_seen_2_65_cat.json',
        data_prefix=dict(img='train2017/'), pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type, data_root=data_root,
        ann_file='zero-shot/instances_val2017_all_2.json',
        data_prefix=dict(img='val2017/'), pipeline=test_pipeline))
test_dataloader = val_dataloader
# base_ap50 / novel_ap50 (and bbox_mAP_50 over all 65 classes) from mmdet's OVCocoMetric.
val_evaluator = dict(
    _delete_=True, type='OVCocoMetric', metric='bbox',
    ann_file=data_root + 'zero-shot/instances_val2017_all_2.json')
test_evaluator = val_evaluator
