# COCO-Stuff-164k val2017, 171 classes.
_base_ = './_base_declip_eva02-b16_slide.py'
model = dict(class_names='coco_stuff171')
test_dataloader = dict(dataset=dict(
    type='COCOStuffDataset',
    data_root='data/coco_stuff164k',
    data_prefix=dict(img_path='images/val2017', seg_map_path='annotations/val2017')))
