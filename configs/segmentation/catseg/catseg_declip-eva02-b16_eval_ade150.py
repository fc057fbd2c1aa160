# Evaluate a COCO-Stuff-trained CAT-Seg (DeCLIP B/16) on ADE20K-150 (open vocabulary).
#   python tools/test.py configs/segmentation/catseg/catseg_declip-eva02-b16_eval_ade150.py CKPT
_base_ = './catseg_declip-eva02-b16_4xb1-80k_coco-stuff171-384x384.py'
model = dict(test_class_names='catseg_ade150')
test_dataloader = dict(dataset=dict(
    _delete_=True, type='ADE20KDataset', data_root='data/ade/ADEChallengeData2016',
    data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation'),
    pipeline={{_base_.test_pipeline}}))
