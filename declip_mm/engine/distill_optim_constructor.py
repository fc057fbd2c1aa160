"""Optimiser constructor that gives the optimiser only the distiller's student.

The content teacher and the VFM are frozen and large (a second CLIP tower plus a ViT). Building
the optimiser over ``model.student`` keeps their parameters out of the optimiser and out of
mmengine's per-parameter "skipped since its requires_grad=False" log lines. The rest is
mmengine's ``DefaultOptimWrapperConstructor``: ``paramwise_cfg`` (``norm_decay_mult``,
``bias_decay_mult``, ``flat_decay_mult``, ``custom_keys``) applies, with names relative to the
student (``visual.trunk.blocks.0...``).
"""
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS
from torch import nn

from ..utils.errors import ConfigError


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class DeCLIPDistillOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """``DefaultOptimWrapperConstructor`` applied to ``model.student`` (a ``DeCLIPDistiller``)."""

    def __call__(self, model: nn.Module) -> OptimWrapper:
        if hasattr(model, 'module'):
            model = model.module
        if not hasattr(model, 'student'):
            raise ConfigError('DeCLIPDistillOptimWrapperConstructor needs a model with a '
                              '"student" (DeCLIPDistiller)')
        return super().__call__(model.student)
