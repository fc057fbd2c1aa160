"""Where declip_mm registers its components, and its own registry scope ``declip_mm``.

Components used by both MMDetection and MMSegmentation configs (the DeCLIP backbone, the text
encoder, transforms shared by both) live in mmengine's *root* registries: mmdet's and mmseg's
registries are children of these, and a child looks a type up in its parents, so one
registration serves both scopes. Task-specific parts (RoI heads, segmentors, datasets) register
in ``mmdet.registry`` / ``mmseg.registry`` directly. A config of either library therefore names
them without a scope (``type='DeCLIPViT'``), as it names mmdet's or mmseg's own types.

The scope ``declip_mm`` makes the OpenMMLab-style scoped name work as well:
``type='declip_mm.DeCLIPViT'`` in a config whose ``default_scope`` is ``mmdet``, ``mmseg`` or
``mmengine``. For every registry declip_mm uses, a registry with ``scope='declip_mm'`` is a child
of mmengine's root registry, of mmdet's and of mmseg's. mmengine resolves ``'declip_mm.X'`` in
the current scope's child named ``declip_mm``, which looks ``X`` up in its parents: the registry
that holds the component. These scope registries hold nothing themselves (every component is
registered once, where the unscoped name finds it); their ``locations`` import declip_mm's
modules on first use, so a config needs no ``custom_imports`` for scoped names (mmengine
imports ``declip_mm.registry`` when it meets the scope).
"""
import mmdet.registry as mmdet_registry
import mmseg.registry as mmseg_registry
from mmengine import registry as mmengine_registry
from mmengine.registry import DATASETS, HOOKS, METRICS, MODELS, TRANSFORMS, Registry

__all__ = ['MODELS', 'TRANSFORMS', 'DATASETS', 'METRICS', 'HOOKS', 'SCOPE', 'SCOPED_REGISTRIES']

SCOPE = 'declip_mm'
LOCATIONS = ['declip_mm.datasets', 'declip_mm.engine', 'declip_mm.evaluation', 'declip_mm.models']
"""Modules that register declip_mm's components (imported by the scope registries)."""

SCOPED_NAMES = ('MODELS', 'TRANSFORMS', 'DATASETS', 'METRICS', 'HOOKS',
                'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS')
"""The registries declip_mm registers into (by their name in ``mmengine.registry``)."""


def _scope_registries() -> dict:
    """``{(library, registry name): Registry(scope='declip_mm', parent=that registry)}``."""
    out = {}
    for library, module in (('mmengine', mmengine_registry), ('mmdet', mmdet_registry),
                            ('mmseg', mmseg_registry)):
        for name in SCOPED_NAMES:
            parent = getattr(module, name)
            out[library, name] = Registry(parent.name, parent=parent, scope=SCOPE,
                                          locations=LOCATIONS)
    return out


SCOPED_REGISTRIES = _scope_registries()
