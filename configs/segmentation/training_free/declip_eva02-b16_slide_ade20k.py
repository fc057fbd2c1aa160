# ADE20K (ADEChallengeData2016) val, 150 classes.
_base_ = './_base_declip_eva02-b16_slide.py'
model = dict(class_names='ade150')
test_dataloader = dict(dataset=dict(
    type='ADE20KDataset',
    data_root='data/ade/ADEChallengeData2016',
    data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation')))
