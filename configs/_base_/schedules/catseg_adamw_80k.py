# CAT-Seg's schedule (DeCLIP CAT-Seg branch, detectron2): AdamW 2e-4 wd 1e-4 without weight decay
# on norms, CLIP towers at 0.01x the lr, grad-norm clip 0.01 over the whole model, 80k
# iterations of a cosine schedule (detectron2's WarmupCosineLR), validation every 5k.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, weight_decay=1e-4),
    clip_grad=dict(max_norm=0.01, norm_type=2),
    paramwise_cfg=dict(norm_decay_mult=0.0,
                       custom_keys={'backbone': dict(lr_mult=0.01),
                                    'text_encoder': dict(lr_mult=0.01)}))
max_iters = 80000
# CAT-Seg's configs/config.yaml sets WARMUP_ITERS 0, so the warm-up is off by default here too
# (set warmup_iters > 0 for a linear warm-up)
warmup_iters = 0
param_scheduler = ([dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
                         end=warmup_iters)] if warmup_iters > 0 else []) + [
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=False, begin=warmup_iters,
         end=max_iters)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(enable=False, base_batch_size=4)
