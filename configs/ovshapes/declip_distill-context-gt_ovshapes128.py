# DeCLIP distillation in the 128 px world with content AND context loss, the context teacher
# being the upper bound DeCLIPGTInstanceTeacher (affinities exactly "same object or not",
# unrelated background patches), at context weight 0.25: declip_distill-context-gt_ovshapes.py
# on the 128 px scenes (16 x 16 token grid; objects of several parts count as one instance,
# occluded objects by their visible pixels). Measurements: docs/ovshapes.md, "The context
# half, measured".
#
#   python tools/train.py configs/ovshapes/declip_distill-context-gt_ovshapes128.py
_base_ = ['./declip_distill-context-gt_ovshapes.py']

student_size = 128
data_root = 'data/ovshapes128/'
clip_checkpoint = 'declip_mm://assets/ovshapes/tiny_clip128.pt'  # the 128 px world's tiny CLIP

model = dict(student=dict(init_cfg=dict(checkpoint=clip_checkpoint)))

train_pipeline = [
    dict(type='DeCLIPLoadImageFromFile'),
    dict(type='DeCLIPGridRegions', max_split=4, max_boxes=20),
    dict(type='DeCLIPRegionCrops', size=32),
    dict(type='DeCLIPResizePad', size=student_size, out_key='vfm_img'),  # unused by the teacher
    dict(type='DeCLIPResizePad', size=student_size),
    dict(type='DeCLIPLoadInstanceMap'),
    dict(type='PackDeCLIPDistillInputsWithInstances'),
]
train_dataloader = dict(dataset=dict(data_root=data_root, pipeline=train_pipeline))
