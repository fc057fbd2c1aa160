# PASCAL Context-59 val (mmseg layout; background ignored).
_base_ = './catseg_declip-eva02-b16_4xb1-80k_coco-stuff171-384x384.py'
model = dict(test_class_names='catseg_pc59')
test_dataloader = dict(dataset=dict(
    _delete_=True, type='PascalContextDataset59', data_root='data/VOCdevkit/VOC2010',
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassContext'),
    ann_file='ImageSets/SegmentationContext/val.txt',
    pipeline={{_base_.test_pipeline}}))
