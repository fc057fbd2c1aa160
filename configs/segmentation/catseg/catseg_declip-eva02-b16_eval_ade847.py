# ADE20K-847 (ADE20K_2021_17_01 val, labels from CAT-Seg's datasets/prepare_ade20k_full.py as
# 16-bit TIFF). Alternative names are dropped as in CAT-Seg (first name only); label 255 is a
# class here, 65535 unlabelled.
_base_ = './catseg_declip-eva02-b16_4xb1-80k_coco-stuff171-384x384.py'
model = dict(test_class_names='catseg_ade847', first_synonym_only=True)
test_pipeline = [
    dict(type='DeCLIPLoadImageFromFile'),
    dict(type='Resize', scale=(2560, 640), keep_ratio=True),
    dict(type='DeCLIPLoadWideSegAnnotations'),
    dict(type='PackSegInputs'),
]
test_dataloader = dict(dataset=dict(
    _delete_=True, type='DeCLIPADE20K847Dataset', data_root='data/ADE20K_2021_17_01',
    data_prefix=dict(img_path='images_detectron2/validation',
                     seg_map_path='annotations_detectron2/validation'),
    pipeline=test_pipeline))
test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'], ignore_index=65535)
