"""The proving ground's configs, per world: one table that the ladder and the sweep read.

A world (``declip_mm.datasets.ov_shapes.worlds``) is the kind of scene: ``'64'``, the original
64 px world, or ``'128'``, the larger world with textured, occluding and part-made objects.
Each has the same set of recipes, as config files under ``configs/ovshapes/``:

* ``content``: DeCLIP distillation, content loss only;
* ``gt``, ``simmim``, ``dino``: content + context loss, the context teacher being the
  upper-bound ``DeCLIPGTInstanceTeacher``, the SimMIM stand-in VFM or the DINO-style one;
* ``det`` / ``baseline``: F-ViT on the distilled encoder (``csa``) / on the plain tiny CLIP
  (``vanilla``);
* ``seg``: the training-free segmentor.
"""
import os
from typing import Dict, Optional

_FILES = {
    'content': 'declip_distill_ovshapes{}.py',
    'gt': 'declip_distill-context-gt_ovshapes{}.py',
    'simmim': 'declip_distill-context_ovshapes{}.py',
    'dino': 'declip_distill-context-dino_ovshapes{}.py',
    'det': 'fvit_tiny-declip_ovshapes{}.py',
    'baseline': 'fvit_tiny-clip_ovshapes{}.py',
    'seg': 'seg_training-free_tiny-declip_ovshapes{}.py',
}
_SUFFIX = {'64': '', '128': '128'}


def recipe_configs(world: str = '64') -> Dict[str, str]:
    """``{recipe: config path relative to the repository root}`` of one world.

    Raises:
        ValueError: for a world without configs.
    """
    if world not in _SUFFIX:
        raise ValueError(f'OV-Shapes world {world!r} has no configs; choose one of '
                         f'{sorted(_SUFFIX)}')
    return {name: f'configs/ovshapes/{pattern.format(_SUFFIX[world])}'
            for name, pattern in _FILES.items()}


def recipe_config(name: str, world: str = '64') -> str:
    """The config path of recipe ``name`` in ``world`` (ValueError naming the valid ones)."""
    configs = recipe_configs(world)
    if name not in configs:
        raise ValueError(f'unknown OV-Shapes recipe {name!r}; choose one of {sorted(configs)}')
    return configs[name]


def distill_overrides(data_root: str, seed: int, scenes: int, epochs: int, lr: float,
                      context_weight: Optional[float] = None,
                      clip: Optional[str] = None) -> Dict[str, object]:
    """Config overrides of one distillation run of the ladder's recipe.

    Args:
        data_root: the world's data folder (made absolute).
        seed: ``randomness.seed``.
        scenes: distillation scenes (the first ones of ``train_base``).
        epochs: epochs of batch 16; the cosine schedule and the checkpoint follow.
        lr: AdamW learning rate.
        context_weight: the context loss weight (``None``: the config's).
        clip: the tiny CLIP file the student starts from (``None``: the config's).
    """
    opts: Dict[str, object] = {
        'randomness.seed': seed, 'optim_wrapper.optimizer.lr': lr,
        'train_dataloader.dataset.data_root': f'{os.path.abspath(data_root)}/',
        'train_dataloader.dataset.indices': scenes, 'train_cfg.max_epochs': epochs,
        'param_scheduler.1.end': epochs, 'param_scheduler.1.T_max': epochs,
        'default_hooks.checkpoint.interval': epochs}
    if context_weight is not None:
        opts['model.context_loss.loss_weight'] = context_weight
    if clip is not None:
        opts['model.student.init_cfg.checkpoint'] = clip
    return opts
