# Training-free open-vocabulary segmentation with the tiny DeCLIP encoder in the 128 px world:
# seg_training-free_tiny-declip_ovshapes.py on 128 x 128 scenes, one 128 px window per scene
# (the probes' dense map, 16 x 16 tokens).
#
#   python tools/test.py configs/ovshapes/seg_training-free_tiny-declip_ovshapes128.py \
#       <whole CLIP checkpoint with the distilled image tower>
_base_ = ['./seg_training-free_tiny-declip_ovshapes.py']

data_root = 'data/ovshapes128/'

clip_checkpoint = 'declip_mm://assets/ovshapes/tiny_clip128.pt'  # text tower: the 128 px world's tiny CLIP

model = dict(slide_crop=128, slide_stride=128,
             text_encoder=dict(init_cfg=dict(checkpoint=clip_checkpoint)))
test_pipeline = [
    dict(type='DeCLIPLoadImageFromFile'),
    dict(type='Resize', scale=(1024, 128), keep_ratio=True),  # no-op on the 128 px scenes
    dict(type='LoadAnnotations'),  # background -> 255 (the dataset's reduce_zero_label)
    dict(type='PackSegInputs'),
]
test_dataloader = dict(dataset=dict(data_root=data_root, pipeline=test_pipeline))
