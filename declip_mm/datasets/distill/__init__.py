"""DeCLIP distillation data: unlabeled images, grid pseudo-regions, teacher crops, VFM view."""
from . import skimage_backend  # noqa: F401  (registers the skimage:// file backend)
from .grid_regions import crop_window, grid_cells, grid_choices, sample_grid_regions
from .image_ops import pad_bottom_right, pad_center, resize_long_side, resize_pad
from .transforms import (DeCLIPGridRegions, DeCLIPRegionCrops, DeCLIPResizePad,
                         PackDeCLIPDistillInputs, normalized_region_boxes)
from .unlabeled_dataset import DeCLIPUnlabeledImageDataset

__all__ = [
    'grid_choices', 'grid_cells', 'sample_grid_regions', 'crop_window', 'resize_long_side',
    'resize_pad', 'pad_bottom_right', 'pad_center', 'DeCLIPGridRegions', 'DeCLIPRegionCrops',
    'DeCLIPResizePad', 'PackDeCLIPDistillInputs', 'normalized_region_boxes',
    'DeCLIPUnlabeledImageDataset'
]
