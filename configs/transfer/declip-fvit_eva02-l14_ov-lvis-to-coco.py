# Transfer evaluation (CLIPSelf's F-ViT/configs/transfer/fvit_vitl14_upsample_fpn_transfer2coco.py):
# the DeCLIP F-ViT L/14 trained on OV-LVIS, tested on COCO val2017 with COCO's 80 class names
# swapped in as the vocabulary at test time. F-ViT's transfer head: one VLM weight alpha 0.2
# for every class (no base / novel split), a fixed detector temperature of 50 and a VLM
# temperature of 120. Boxes only (the mask head is dropped).
#
#   python tools/test.py configs/transfer/declip-fvit_eva02-l14_ov-lvis-to-coco.py \
#       work_dirs/declip-fvit_eva02-l14_fpn_8xb8-48e_ov-lvis-896/epoch_48.pth
_base_ = '../ovlvis/declip-fvit_eva02-l14_fpn_8xb8-48e_ov-lvis-896.py'

image_size = (896, 896)
model = dict(
    test_vocabulary='coco',  # the dataset's 80 classes, in its label order
    roi_head=dict(
        bbox_head=dict(type='DeCLIPOVTransferBBoxHead', alpha=0.2, test_temperature=50.0,
                       vlm_temperature=120.0),
        mask_roi_extractor=None, mask_head=None),
    data_preprocessor=dict(pad_mask=False))

test_pipeline = [
    dict(type='DeCLIPLoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
data_root = 'data/coco/'
test_dataloader = dict(
    _delete_=True, batch_size=1, num_workers=2, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CocoDataset', data_root=data_root,
                 ann_file='annotations/instances_val2017.json',
                 data_prefix=dict(img='val2017/'), test_mode=True, pipeline=test_pipeline))
val_dataloader = test_dataloader
test_evaluator = dict(_delete_=True, type='CocoMetric', metric='bbox',
                      ann_file=data_root + 'annotations/instances_val2017.json')
val_evaluator = test_evaluator
