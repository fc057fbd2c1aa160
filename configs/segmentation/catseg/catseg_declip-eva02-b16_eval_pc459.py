# PASCAL Context-459 val (labels from CAT-Seg's datasets/prepare_pascal_context_459.py as
# 16-bit TIFF; the 5105 val images listed in ImageSets/SegmentationContext/val.txt).
_base_ = './catseg_declip-eva02-b16_4xb1-80k_coco-stuff171-384x384.py'
model = dict(test_class_names='catseg_pc459')
test_pipeline = [
    dict(type='DeCLIPLoadImageFromFile'),
    dict(type='Resize', scale=(2560, 640), keep_ratio=True),
    dict(type='DeCLIPLoadWideSegAnnotations'),
    dict(type='PackSegInputs'),
]
test_dataloader = dict(dataset=dict(
    _delete_=True, type='DeCLIPPascalContext459Dataset', data_root='data/VOCdevkit/VOC2010',
    data_prefix=dict(img_path='JPEGImages', seg_map_path='annotations_detectron2/pc459_val'),
    ann_file='ImageSets/SegmentationContext/val.txt',
    pipeline=test_pipeline))
test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'], ignore_index=65535)
