"""Open-vocabulary detection data: OV-COCO / OV-LVIS datasets (importing registers
``DeCLIPOVCocoDataset`` and ``DeCLIPOVLVISDataset`` in mmdet's ``DATASETS``). The class lists
are in ``declip_mm.vocab``."""
from .ov_datasets import DeCLIPOVCocoDataset, DeCLIPOVLVISDataset

__all__ = ['DeCLIPOVCocoDataset', 'DeCLIPOVLVISDataset']
