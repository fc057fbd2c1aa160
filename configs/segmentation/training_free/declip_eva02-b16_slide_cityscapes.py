# Cityscapes val, 19 classes; short side 560.
_base_ = './_base_declip_eva02-b16_slide.py'
model = dict(class_names='cityscapes')
test_pipeline = [
    dict(type='DeCLIPLoadImageFromFile'),
    dict(type='Resize', scale=(2048, 560), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
test_dataloader = dict(dataset=dict(
    type='CityscapesDataset',
    data_root='data/cityscapes',
    data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
    pipeline=test_pipeline))
