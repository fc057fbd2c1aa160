# DeCLIP distillation in the 128 px world with content AND context loss from the SimMIM
# stand-in VFM (declip_mm/assets/ovshapes/tiny_vfm.pt, patch 8): declip_distill-context_ovshapes.py
# on the 128 px scenes. The VFM sees the scene at 128 px too, a 16 x 16 grid like the
# student's (its position embedding, trained at 8 x 8, is resized at run time).
#
#   python tools/train.py configs/ovshapes/declip_distill-context_ovshapes128.py
_base_ = ['./declip_distill-context_ovshapes.py']

student_size = 128
data_root = 'data/ovshapes128/'
clip_checkpoint = 'declip_mm://assets/ovshapes/tiny_clip128.pt'  # the 128 px world's tiny CLIP

model = dict(student=dict(init_cfg=dict(checkpoint=clip_checkpoint)))

train_pipeline = [
    dict(type='DeCLIPLoadImageFromFile'),
    dict(type='DeCLIPGridRegions', max_split=4, max_boxes=20),
    dict(type='DeCLIPRegionCrops', size=32),
    dict(type='DeCLIPResizePad', size=student_size, out_key='vfm_img'),
    dict(type='DeCLIPResizePad', size=student_size),
    dict(type='PackDeCLIPDistillInputs'),
]
train_dataloader = dict(dataset=dict(data_root=data_root, pipeline=train_pipeline))
