# PASCAL VOC 2012 val, 21 classes (background = a group of stuff words, threshold 0.4).
_base_ = './_base_declip_eva02-b16_slide.py'
model = dict(class_names='voc21', logit_scale=80, prob_thd=0.4)
test_dataloader = dict(dataset=dict(
    type='PascalVOCDataset',
    data_root='data/VOCdevkit/VOC2012',
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
    ann_file='ImageSets/Segmentation/val.txt'))
