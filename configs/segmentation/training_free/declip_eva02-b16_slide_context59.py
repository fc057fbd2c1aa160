# PASCAL Context val, 59 classes (background ignored).
_base_ = './_base_declip_eva02-b16_slide.py'
model = dict(class_names='context59')
test_dataloader = dict(dataset=dict(
    type='PascalContextDataset59',
    data_root='data/VOCdevkit/VOC2010',
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassContext'),
    ann_file='ImageSets/SegmentationContext/val.txt'))
