"""The official DeCLIP learning-rate schedule on mmengine's schedulers.

xiaomoguhz/DeCLIP (``src/training/scheduler.py``, ``cosine_lr``) sets, before update ``s``
(0-based) of ``T`` updates in all::

    lr(s) = base * (s + 1) / W                                  for s < W
    lr(s) = base * (1 + cos(pi * (s - W) / (T - W))) / 2        for s >= W

that is a linear warm-up over ``W`` updates, then a cosine over the *remaining* ``T - W``
updates. mmengine computes exactly that with

* ``LinearLR(start_factor=1 / W, by_epoch=False, begin=0, end=W)`` (mmengine's LinearLR spans
  ``end - begin - 1`` steps, so its factor at ``s`` is ``(s + 1) / W``), and
* ``CosineAnnealingLR(by_epoch=False, begin=W, end=T, T_max=T - W)``.

``T`` depends on the dataset length and the number of GPUs, so a config cannot write the second
one in iterations. ``DeCLIPCosineAfterWarmupLR`` is mmengine's ``CosineAnnealingLR`` whose
epoch-to-iteration conversion (``convert_to_iter_based=True``) starts it at ``warmup_iters``
iterations and ends it at ``end`` epochs, with ``T_max`` the iterations in between. The maths is
mmengine's own; ``tests/engine/test_param_schedulers.py`` checks it against the formula above.
"""
from mmengine.optim.scheduler import CosineAnnealingLR
from mmengine.optim.scheduler.param_scheduler import INF
from mmengine.registry import PARAM_SCHEDULERS

from ..utils.errors import ConfigError


@PARAM_SCHEDULERS.register_module()
class DeCLIPCosineAfterWarmupLR(CosineAnnealingLR):
    """Cosine annealing from iteration ``warmup_iters`` to the end of epoch ``end``.

    Use with ``by_epoch=True, convert_to_iter_based=True`` (``end`` in epochs) after a
    ``LinearLR`` warm-up of ``warmup_iters`` iterations::

        param_scheduler = [
            dict(type='LinearLR', start_factor=1 / 1000, by_epoch=False, begin=0, end=1000),
            dict(type='DeCLIPCosineAfterWarmupLR', warmup_iters=1000, eta_min=0.0,
                 by_epoch=True, end=6, convert_to_iter_based=True)]

    Args:
        warmup_iters: iterations before the cosine starts (the warm-up's ``end``).
        other arguments: as ``CosineAnnealingLR``; ``begin`` and ``T_max`` are derived.
    """

    def __init__(self, optimizer, warmup_iters: int = 0, by_epoch: bool = False, **kwargs):
        if by_epoch:
            raise ConfigError('DeCLIPCosineAfterWarmupLR: set convert_to_iter_based=True (its '
                              'start, warmup_iters, is counted in iterations)')
        super().__init__(optimizer, by_epoch=False, **kwargs)
        self.warmup_iters = int(warmup_iters)

    @classmethod
    def build_iter_from_epoch(cls, *args, warmup_iters: int = 0, begin=0, end=INF,
                              T_max=None, by_epoch: bool = True, epoch_length=None, **kwargs):
        """Iteration-based instance: ``begin = warmup_iters``, ``end = end * epoch_length``."""
        if not by_epoch or not epoch_length or end == INF:
            raise ConfigError('DeCLIPCosineAfterWarmupLR: needs by_epoch=True, a finite end '
                              '(epochs) and convert_to_iter_based=True')
        end_iter = int(end * epoch_length)
        if end_iter <= warmup_iters:
            raise ConfigError(f'DeCLIPCosineAfterWarmupLR: the run has {end_iter} iterations, '
                              f'not more than warmup_iters={warmup_iters}')
        return cls(*args, warmup_iters=warmup_iters, begin=int(warmup_iters), end=end_iter,
                   T_max=end_iter - int(warmup_iters), by_epoch=False, **kwargs)
