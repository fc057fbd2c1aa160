# DeCLIP distillation of the OV-Shapes tiny CLIP in the 128 px world (docs/ovshapes.md, "The
# 128 px world"): the recipe of declip_distill_ovshapes.py (content loss only) on 128 x 128
# scenes of textured, occluding and part-made objects. The student sees a 16 x 16 token grid;
# the tiny CLIP was pretrained on 64 px scenes (8 x 8), and its position embedding is resized
# bicubically at run time, as DeCLIP runs CLIP above its pretraining size. Pseudo-regions come
# from grids of up to 4 x 4 cells (32 px or more), cropped to 32 px for the content teacher.
#
#   python tools/ovshapes/make_data.py --world 128 --splits train_base --num 2000
#   python tools/train.py configs/ovshapes/declip_distill_ovshapes128.py
_base_ = ['./declip_distill_ovshapes.py']

student_size = 128
vfm_size = student_size // 8 * 14   # the placeholder context teacher (weight 0): 16 x 16 grid
data_root = 'data/ovshapes128/'
clip_checkpoint = 'declip_mm://assets/ovshapes/tiny_clip128.pt'  # the 128 px world's tiny CLIP

model = dict(student=dict(init_cfg=dict(checkpoint=clip_checkpoint)),
             vfm=dict(arch_overrides=dict(img_size=vfm_size)))

train_pipeline = [
    dict(type='DeCLIPLoadImageFromFile'),
    dict(type='DeCLIPGridRegions', max_split=4, max_boxes=20),
    dict(type='DeCLIPRegionCrops', size=32),
    dict(type='DeCLIPResizePad', size=vfm_size, out_key='vfm_img'),
    dict(type='DeCLIPResizePad', size=student_size),
    dict(type='PackDeCLIPDistillInputs'),
]
train_dataloader = dict(dataset=dict(data_root=data_root, pipeline=train_pipeline))
