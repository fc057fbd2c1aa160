# Transfer evaluation (CLIPSelf's fvit_vitl14_upsample_fpn_transfer2objects365v1.py): the DeCLIP
# F-ViT L/14 trained on OV-LVIS, tested on Objects365 v1 val with its 365 class names
# (declip_mm/vocab/class_names/objects365v1.txt, F-ViT's "fix" spelling, mmdet's label order)
# as the test vocabulary; transfer head with alpha 0.3, detector temperature 50, VLM 120.
_base_ = './declip-fvit_eva02-l14_ov-lvis-to-coco.py'

model = dict(test_vocabulary='objects365v1', roi_head=dict(bbox_head=dict(alpha=0.3)))

data_root = 'data/Objects365v1/'
test_dataloader = dict(
    dataset=dict(type='Objects365V1Dataset', data_root=data_root,
                 ann_file='objects365_reorder_val.json', data_prefix=dict(img='val/')))
val_dataloader = test_dataloader
test_evaluator = dict(ann_file=data_root + 'objects365_reorder_val.json')
val_evaluator = test_evaluator
