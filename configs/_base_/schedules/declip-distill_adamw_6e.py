# DeCLIP distillation schedule, as the official scripts run it
# (xiaomoguhz/DeCLIP scripts/dist_DeCLIP_eva_*.sh and src/training/{main,params,scheduler}.py):
# * AdamW lr 1e-5, betas (0.9, 0.999), eps 1e-8 (the script's defaults for EVA02 models), weight
#   decay 0.1 except norms, biases and 1-D parameters; AMP (dynamic loss scale); no grad clip;
# * lr: linear warm-up over 1000 iterations, (s + 1) / 1000 of the base lr at iteration s, then
#   a cosine to 0 over the remaining iterations of the 6 epochs (official cosine_lr);
# * validation every epoch.
max_epochs = 6
warmup_iters = 1000
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# only the student's parameters go to the optimiser (the teachers are frozen)
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    constructor='DeCLIPDistillOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=1e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0))

param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / warmup_iters, by_epoch=False, begin=0,
         end=warmup_iters),
    dict(type='DeCLIPCosineAfterWarmupLR', warmup_iters=warmup_iters, eta_min=0.0,
         by_epoch=True, end=max_epochs, convert_to_iter_based=True),
]
auto_scale_lr = dict(enable=False, base_batch_size=16)
