# PASCAL VOC 2012 val without background (20 classes, background pixels ignored).
_base_ = './_base_declip_eva02-b16_slide.py'
model = dict(class_names='voc20')
test_dataloader = dict(dataset=dict(
    type='DeCLIPPascalVOC20Dataset',
    data_root='data/VOCdevkit/VOC2012',
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
    ann_file='ImageSets/Segmentation/val.txt'))
