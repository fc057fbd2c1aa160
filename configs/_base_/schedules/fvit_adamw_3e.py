# F-ViT's OV-COCO schedule: 3 epochs, batch 64 (8 GPUs x 8), AdamW lr 1e-4 wd 0.1, 250 linear
# warm-up iterations and then a constant lr (F-ViT does not decay on OV-COCO, step=[100], to
# avoid over-fitting the base classes), grad clip 1.0, fp16 with a static loss scale of 512,
# lr scaled from batch 64.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=3, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=250),
]
optim_wrapper = dict(
    type='AmpOptimWrapper', loss_scale=512.0,
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.1),
    clip_grad=dict(max_norm=1.0, norm_type=2))
auto_scale_lr = dict(enable=True, base_batch_size=64)
