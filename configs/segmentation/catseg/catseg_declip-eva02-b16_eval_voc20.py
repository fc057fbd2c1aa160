# PASCAL VOC-20 val (background pixels ignored).
_base_ = './catseg_declip-eva02-b16_4xb1-80k_coco-stuff171-384x384.py'
model = dict(test_class_names='catseg_voc20')
test_dataloader = dict(dataset=dict(
    _delete_=True, type='DeCLIPPascalVOC20Dataset', data_root='data/VOCdevkit/VOC2012',
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
    ann_file='ImageSets/Segmentation/val.txt',
    pipeline={{_base_.test_pipeline}}))
