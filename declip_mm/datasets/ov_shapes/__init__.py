"""OV-Shapes: the offline open-vocabulary proving ground (procedural scenes, tiny CLIP).

Importing registers ``OVShapesDetDataset`` (mmdet), ``OVShapesSegDataset`` (mmseg) and the
instance-map distillation data of the upper-bound context teacher (``instance_data``).
"""
from .arch import (OV_SHAPES_CLIP, OV_SHAPES_MEAN, OV_SHAPES_STD, OV_SHAPES_TEMPLATES,
                   TINY_CLIP_CHECKPOINT)
from .classes import BASE_CLASSES, CLASSES, COLOURS, NOVEL_CLASSES, SHAPES
from .det_dataset import OVShapesDetDataset
from .generator import Scene, generate_scene, scene_rng, semantic_map
from .instance_data import (DeCLIPLoadInstanceMap, DeCLIPOVShapesInstanceDataset,
                            PackDeCLIPDistillInputsWithInstances)
from .seg_dataset import OVShapesSegDataset
from .worlds import WORLDS, World, get_world
from .writer import SPLITS, make_scenes, write_split

__all__ = ['OV_SHAPES_CLIP', 'OV_SHAPES_MEAN', 'OV_SHAPES_STD', 'OV_SHAPES_TEMPLATES',
           'TINY_CLIP_CHECKPOINT', 'BASE_CLASSES', 'CLASSES', 'COLOURS', 'NOVEL_CLASSES',
           'SHAPES', 'OVShapesDetDataset', 'OVShapesSegDataset', 'Scene', 'generate_scene',
           'scene_rng', 'semantic_map', 'SPLITS', 'make_scenes', 'write_split',
           'DeCLIPLoadInstanceMap', 'DeCLIPOVShapesInstanceDataset',
           'PackDeCLIPDistillInputsWithInstances', 'WORLDS', 'World', 'get_world']
