"""Where declip_mm registers its components.

Components used by both MMDetection and MMSegmentation configs (the DeCLIP backbone, the text
encoder, transforms shared by both) live in mmengine's *root* registries: mmdet's and mmseg's
registries are children of these, and a child looks a type up in its parents, so one
registration serves both scopes. Task-specific parts (RoI heads, segmentors, datasets) register
in ``mmdet.registry`` / ``mmseg.registry`` directly.
"""
from mmengine.registry import DATASETS, HOOKS, METRICS, MODELS, TRANSFORMS

__all__ = ['MODELS', 'TRANSFORMS', 'DATASETS', 'METRICS', 'HOOKS']
