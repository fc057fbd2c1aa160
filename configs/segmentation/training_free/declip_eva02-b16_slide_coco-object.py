# COCO-Object val2017: background + 80 things (threshold 0.2). Make the label maps with
#   python -m declip_mm.datasets.segmentation.convert \
#       data/coco_stuff164k/annotations/val2017 data/coco_object/annotations/val2017
_base_ = './_base_declip_eva02-b16_slide.py'
model = dict(class_names='coco_object', prob_thd=0.2)
test_dataloader = dict(dataset=dict(
    type='DeCLIPCOCOObjectDataset',
    data_root='data/coco_object',
    data_prefix=dict(img_path='images/val2017', seg_map_path='annotations/val2017')))
