# F-ViT on the tiny DeCLIP encoder in the 128 px world (docs/ovshapes.md, "The 128 px world"):
# fvit_tiny-declip_ovshapes.py on 128 x 128 scenes (16 x 16 token grid). Anchors of 16-128 px
# on the four levels cover the world's objects (about 24-64 px).
#
#   python tools/ovshapes/make_data.py --world 128 --splits train_base test --num 2000
#   python tools/train.py configs/ovshapes/fvit_tiny-declip_ovshapes128.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=<distilled 128 px encoder>
_base_ = ['./fvit_tiny-declip_ovshapes.py']

image_size = (128, 128)
data_root = 'data/ovshapes128/'
clip_checkpoint = 'declip_mm://assets/ovshapes/tiny_clip128.pt'  # text tower: the 128 px world's tiny CLIP

model = dict(text_encoder=dict(init_cfg=dict(checkpoint=clip_checkpoint)))

test_pipeline = [
    dict(type='DeCLIPLoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=image_size, keep_ratio=True),  # no-op on the scenes; sets scale
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'text',
                    'custom_entities')),
]
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'test/annotations.json')
test_evaluator = val_evaluator
