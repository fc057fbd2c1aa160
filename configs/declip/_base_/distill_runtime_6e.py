# DeCLIP distillation schedule and runtime (official recipe, xiaomoguhz/DeCLIP scripts):
# AdamW lr 1e-5, betas (0.9, 0.999), eps 1e-8, weight decay 0.1 except norms, biases and 1-D
# parameters; 1000 linear warm-up iterations and a cosine decay to 0 over 6 epochs; AMP;
# total batch 16. The cosine here spans the whole run and is multiplied by the warm-up
# factor during the first 1000 iterations (mmengine chains the two schedulers); the official
# cosine starts after the warm-up, which differs by less than 0.2% of the lr at any step.
_base_ = ['../../_base_/default_runtime_det.py']

custom_imports = dict(
    imports=['declip_mm', 'declip_mm.datasets.distill', 'declip_mm.evaluation.region_cls'],
    allow_failed_imports=False)

max_epochs = 6
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
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=1000),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=0, end=max_epochs,
         T_max=max_epochs, convert_to_iter_based=True),
]

# mmengine checkpoints (student + teacher + VFM + optimizer) for --resume; the deployable
# backbone is the alpha-ensembled file written by DeCLIPEnsembleCheckpointHook every epoch.
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='DeCLIPCheckpointHook', interval=1, max_keep_ckpts=2))
custom_hooks = [dict(type='DeCLIPLossSyncHook'),
                dict(type='DeCLIPEnsembleCheckpointHook', alpha=0.7, interval=1)]

auto_scale_lr = dict(enable=False, base_batch_size=16)
