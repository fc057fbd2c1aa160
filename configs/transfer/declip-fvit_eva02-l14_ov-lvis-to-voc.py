# Transfer evaluation (CLIPSelf's fvit_vitl14_upsample_fpn_transfer2voc.py): the DeCLIP F-ViT L/14
# trained on OV-LVIS, tested on PASCAL VOC 2007 test with the 20 VOC class names
# (declip_mm/vocab/class_names/voc.txt) as the test vocabulary; transfer head with alpha 0.3,
# detector temperature 50, VLM 120; VOC mAP at IoU 0.5 and 0.75 (11 points, as VOC 2007).
_base_ = './declip-fvit_eva02-l14_ov-lvis-to-coco.py'

model = dict(test_vocabulary='voc', roi_head=dict(bbox_head=dict(alpha=0.3)))

data_root = 'data/VOCdevkit/'
test_dataloader = dict(
    dataset=dict(_delete_=True, type='VOCDataset', data_root=data_root,
                 ann_file='VOC2007/ImageSets/Main/test.txt',
                 data_prefix=dict(sub_data_root='VOC2007/'), test_mode=True,
                 pipeline={{_base_.test_pipeline}}))
val_dataloader = test_dataloader
test_evaluator = dict(_delete_=True, type='VOCMetric', metric='mAP', iou_thrs=[0.5, 0.75],
                      eval_mode='11points')
val_evaluator = test_evaluator
