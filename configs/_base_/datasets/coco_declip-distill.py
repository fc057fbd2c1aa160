# DeCLIP distillation data: COCO train2017 images (labels unused) cut into grid pseudo-regions
# (up to 6 x 6), crops at 224 px for the content teacher, a 560 px student view (35 x 35 tokens
# at patch 16) and a DINOv2 view with the same grid; validation on COCO panoptic val2017
# regions (ground-truth boxes and masks, DeCLIP's region-classification protocol).
data_root = 'data/coco/'
student_size, student_patch = 560, 16           # 35 x 35 token grid
vfm_patch = 14
vfm_size = student_size // student_patch * vfm_patch   # 490: the VFM grid equals the student's
crop_size = 224

train_pipeline = [
    dict(type='DeCLIPLoadImageFromFile'),
    dict(type='DeCLIPGridRegions', max_split=6, max_boxes=20),
    dict(type='DeCLIPRegionCrops', size=crop_size),
    dict(type='DeCLIPResizePad', size=vfm_size, out_key='vfm_img'),
    dict(type='DeCLIPResizePad', size=student_size),
    dict(type='PackDeCLIPDistillInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='DeCLIPUnlabeledImageDataset',
        data_root=data_root,
        ann_file='annotations/instances_train2017.json',   # '' scans data_prefix.img instead
        data_prefix=dict(img='train2017/'),
        pipeline=train_pipeline))

val_pipeline = [
    dict(type='DeCLIPLoadImageFromFile'),
    dict(type='DeCLIPLoadPanopticRegions', min_size=8, max_size=1024, max_regions=100),
    dict(type='DeCLIPRegionEvalCrops', size=crop_size),
    dict(type='DeCLIPResizePad', size=student_size),
    dict(type='DeCLIPRegionMasksToGrid', grid=student_size // student_patch),
    dict(type='PackDeCLIPRegionInputs'),
]
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='DeCLIPCocoPanopticRegionDataset',
        data_root=data_root,
        ann_file='annotations/panoptic_val2017.json',
        data_prefix=dict(img='val2017/', seg='annotations/panoptic_val2017/'),
        test_mode=True,
        pipeline=val_pipeline))
val_evaluator = dict(type='DeCLIPRegionClsMetric')
