"""Open-vocabulary segmentation data: datasets mmseg lacks and a 16-bit label loader (the class
lists are in ``declip_mm.vocab``)."""
from .datasets import (DeCLIPADE20K847Dataset, DeCLIPCOCOObjectDataset,
                       DeCLIPPascalContext459Dataset, DeCLIPPascalVOC20Dataset)
from .transforms import DeCLIPLoadWideSegAnnotations

__all__ = ['DeCLIPADE20K847Dataset', 'DeCLIPCOCOObjectDataset', 'DeCLIPPascalContext459Dataset',
           'DeCLIPPascalVOC20Dataset', 'DeCLIPLoadWideSegAnnotations']
