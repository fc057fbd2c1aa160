"""Open-vocabulary segmentation data: datasets mmseg lacks, a 16-bit label loader, class names."""
from .class_names import CLASS_NAME_DIR, builtin_class_files, first_names, load_class_names
from .datasets import (DeCLIPADE20K847Dataset, DeCLIPCOCOObjectDataset,
                       DeCLIPPascalContext459Dataset, DeCLIPPascalVOC20Dataset)
from .transforms import DeCLIPLoadWideSegAnnotations

__all__ = ['CLASS_NAME_DIR', 'builtin_class_files', 'first_names', 'load_class_names',
           'DeCLIPADE20K847Dataset', 'DeCLIPCOCOObjectDataset', 'DeCLIPPascalContext459Dataset',
           'DeCLIPPascalVOC20Dataset', 'DeCLIPLoadWideSegAnnotations']
