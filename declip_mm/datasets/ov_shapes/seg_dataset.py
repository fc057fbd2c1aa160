"""OV-Shapes as an MMSegmentation dataset (semantic PNGs written by ``writer.write_split``)."""
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .classes import BASE_CLASSES, CLASSES, NOVEL_CLASSES, palette


@DATASETS.register_module()
class OVShapesSegDataset(BaseSegDataset):
    """OV-Shapes semantic maps: 30 object classes, background ignored.

    The label PNGs store 0 for background and ``k + 1`` for class ``k`` of ``CLASSES``. As for
    ADE20K, ``reduce_zero_label=True`` (the default here) maps background to ``ignore_index``
    (255) and class ``k + 1`` to ``k``, so ``IoUMetric`` scores object pixels only: the
    *foreground* mIoU of the proving ground. Background is never a class.

    Example::

        dict(type='OVShapesSegDataset', data_root='data/ovshapes/',
             data_prefix=dict(img_path='test/images', seg_map_path='test/semantic'))
    """

    METAINFO = dict(classes=CLASSES, base_classes=BASE_CLASSES, novel_classes=NOVEL_CLASSES,
                    palette=[list(p) for p in palette()])

    def __init__(self, img_suffix: str = '.png', seg_map_suffix: str = '.png',
                 reduce_zero_label: bool = True, **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, **kwargs)
