# DeCLIP distillation on OV-Shapes with content AND context loss, the context teacher being the
# proving ground's upper bound: DeCLIPGTInstanceTeacher, whose patch features come from the
# scenes' ground-truth instance maps (one fixed random vector per object, pooled to the 8 x 8
# patch grid), so its affinities are exactly "same object or not". Background patches get
# unrelated vectors (background='distinct'); with one shared background vector
# (background='shared') the loss is dominated by the background block and the dense map gets
# worse. It tests the context mechanism alone. The data pipeline carries the instance maps
# (DeCLIPOVShapesInstanceDataset reads the split's RLE masks). Everything else is as in
# declip_distill_ovshapes.py (content only). Measurements: docs/ovshapes.md, "The context
# half, measured".
#
#   python tools/train.py configs/ovshapes/declip_distill-context-gt_ovshapes.py
_base_ = ['./declip_distill_ovshapes.py']

student_size, student_patch = 64, 8
context_weight = 0.25

model = dict(
    vfm=dict(_delete_=True, type='DeCLIPGTInstanceTeacher', patch_size=student_patch, dim=64,
             background='distinct'),
    context_loss=dict(type='DeCLIPContextLoss', loss_weight=context_weight))

train_pipeline = [
    dict(type='DeCLIPLoadImageFromFile'),
    dict(type='DeCLIPGridRegions', max_split=4, max_boxes=20),
    dict(type='DeCLIPRegionCrops', size=32),
    dict(type='DeCLIPResizePad', size=student_size, out_key='vfm_img'),  # unused by the teacher
    dict(type='DeCLIPResizePad', size=student_size),
    dict(type='DeCLIPLoadInstanceMap'),
    dict(type='PackDeCLIPDistillInputsWithInstances'),
]
train_dataloader = dict(dataset=dict(type='DeCLIPOVShapesInstanceDataset',
                                     pipeline=train_pipeline))
