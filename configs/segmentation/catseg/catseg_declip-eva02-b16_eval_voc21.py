# PASCAL VOC-21 val = CAT-Seg's "VOC-20b": the vocabulary is the 20 VOC classes plus the 39
# PASCAL-Context classes outside VOC; those 39 form the background entry (max over them).
_base_ = './catseg_declip-eva02-b16_4xb1-80k_coco-stuff171-384x384.py'
model = dict(test_class_names='catseg_voc21')
test_dataloader = dict(dataset=dict(
    _delete_=True, type='PascalVOCDataset', data_root='data/VOCdevkit/VOC2012',
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
    ann_file='ImageSets/Segmentation/val.txt',
    pipeline={{_base_.test_pipeline}}))
