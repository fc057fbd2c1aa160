"""Region classification on COCO panoptic (DeCLIP validation): data, transforms, model, metric."""
from .metric import DeCLIPRegionClsMetric, mean_class_accuracy, topk_correct
from .panoptic_dataset import DeCLIPCocoPanopticRegionDataset
from .region_classifier import DeCLIPRegionClassifier, adapt_region_classifier_state
from .text_classifier import DeCLIPRegionTextClassifier, mask_pool, topk_classes
from .transforms import (DeCLIPLoadPanopticRegions, DeCLIPRegionMasksToGrid,
                         PackDeCLIPRegionInputs, mask_to_box, masks_to_grid, rgb_to_panoptic_id)

__all__ = [
    'DeCLIPRegionClsMetric', 'mean_class_accuracy', 'topk_correct',
    'DeCLIPCocoPanopticRegionDataset', 'DeCLIPRegionClassifier', 'adapt_region_classifier_state',
    'DeCLIPRegionTextClassifier', 'mask_pool', 'topk_classes', 'DeCLIPLoadPanopticRegions',
    'DeCLIPRegionMasksToGrid', 'PackDeCLIPRegionInputs', 'mask_to_box', 'masks_to_grid',
    'rgb_to_panoptic_id'
]
