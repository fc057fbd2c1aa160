# CAT-Seg (CVPR design) with the DeCLIP EVA02-B/16 backbone, trained on COCO-Stuff-171.
# As the DeCLIP CAT-Seg branch (configs/eva_vitb_384.yaml): CLIP input 384^2 (24x24 grid),
# guidance from blocks 3 and 7, prompt 'A photo of a {} in the scene', 2 aggregation layers,
# AdamW 2e-4, batch 4 in total (4 GPUs x 1), 80k iterations, cosine schedule, CLIP q/v (visual)
# and in-projection (text) weights trained at 0.01x, grad-norm clip 0.01 over the whole model.
#   bash tools/dist_train.sh \
#       configs/segmentation/catseg/catseg_declip-eva02-b16_4xb1-80k_coco-stuff171-384x384.py 4
_base_ = [
    '../../_base_/models/catseg_declip-eva02-b16.py',
    '../../_base_/datasets/coco-stuff171_catseg.py',
    '../../_base_/schedules/catseg_adamw_80k.py',
    '../../_base_/default_runtime_seg.py',
]

model = dict(data_preprocessor=dict(size=_base_.crop_size),
             train_class_names='catseg_coco_stuff171')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='DeCLIPCheckpointHook', by_epoch=False, interval=5000),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
