# declip_mm's runtime for DeCLIP distillation: default_runtime_det.py with the distillation
# datasets and region-classification metric imported, and the official scripts' checkpoints
# and seeds:
# * mmengine checkpoints (student + teacher + VFM + optimizer) every epoch for --resume; the
#   deployable backbone is the alpha-ensembled file written by DeCLIPEnsembleCheckpointHook
#   every epoch (image tower + the CLIP checkpoint's text tower), which is also what
#   validation scores;
# * seed 0, plus the rank on each process (the official random_seed(seed + rank)).
_base_ = ['./default_runtime_det.py']

custom_imports = dict(
    imports=['declip_mm', 'declip_mm.datasets.distill', 'declip_mm.evaluation.region_cls'],
    allow_failed_imports=False)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='DeCLIPCheckpointHook', interval=1, max_keep_ckpts=2))
custom_hooks = [dict(type='DeCLIPLossSyncHook'),
                dict(type='DeCLIPEnsembleCheckpointHook', alpha=0.7, interval=1)]

randomness = dict(seed=0, diff_rank_seed=True)
