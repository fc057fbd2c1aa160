"""Loading of label maps wider than 8 bits (ADE-847 / PC-459 are stored as 16-bit TIFFs)."""
import mmcv
import numpy as np
from mmengine import fileio
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class DeCLIPLoadWideSegAnnotations(LoadAnnotations):
    """mmseg's ``LoadAnnotations`` without the cast to uint8: labels keep up to 32 bits.

    mmseg casts every label map to ``uint8``, which folds labels >= 256 onto others; datasets
    with more than 255 classes need this loader. ``reduce_zero_label`` maps 0 to
    ``ignore_index`` and shifts the rest down by one, as mmseg does for 8-bit maps.

    Args:
        ignore_index: the unlabelled value used by ``reduce_zero_label``.
        imdecode_backend: ``'pillow'`` reads 16-bit TIFF / PNG as stored.
    """

    def __init__(self, ignore_index: int = 65535, imdecode_backend: str = 'pillow', **kwargs):
        super().__init__(imdecode_backend=imdecode_backend, **kwargs)
        self.ignore_index = ignore_index

    def _load_seg_map(self, results: dict) -> None:
        data = fileio.get(results['seg_map_path'], backend_args=self.backend_args)
        seg = mmcv.imfrombytes(data, flag='unchanged', backend=self.imdecode_backend).squeeze()
        seg = seg.astype(np.int64)
        if self.reduce_zero_label is None:
            self.reduce_zero_label = results['reduce_zero_label']
        if self.reduce_zero_label:
            zero = seg == 0
            seg = seg - 1
            seg[zero] = self.ignore_index
        if results.get('label_map') is not None:
            src = seg.copy()
            for old_id, new_id in results['label_map'].items():
                seg[src == old_id] = new_id
        results['gt_seg_map'] = seg
        results['seg_fields'].append('gt_seg_map')
