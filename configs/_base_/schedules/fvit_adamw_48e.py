# F-ViT's OV-LVIS schedule: fvit_adamw_3e.py's optimiser over 48 epochs, validation every 4,
# lr steps (x0.1) at epochs 32 and 44 after the 250-iteration warm-up.
_base_ = './fvit_adamw_3e.py'

train_cfg = dict(max_epochs=48, val_interval=4)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=250),
    dict(type='MultiStepLR', begin=0, end=48, by_epoch=True, milestones=[32, 44], gamma=0.1),
]
