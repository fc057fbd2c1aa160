# PASCAL Context val, 60 classes incl. background (threshold 0.15).
_base_ = './_base_declip_eva02-b16_slide.py'
model = dict(class_names='context60', prob_thd=0.15)
test_dataloader = dict(dataset=dict(
    type='PascalContextDataset',
    data_root='data/VOCdevkit/VOC2010',
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassContext'),
    ann_file='ImageSets/SegmentationContext/val.txt'))
