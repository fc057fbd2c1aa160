"""OV-Shapes as an MMDetection dataset (COCO json written by ``writer.write_split``)."""
from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS

from .classes import BASE_CLASSES, CLASSES, NOVEL_CLASSES, palette


@DATASETS.register_module()
class OVShapesDetDataset(CocoDataset):
    """OV-Shapes boxes and RLE masks; ``METAINFO`` carries the base / novel split.

    ``classes`` are all 30 names (``'red ring'`` ...), so ``OVCocoMetric`` reports base and
    novel AP from ``base_classes`` / ``novel_classes``. To train on base classes only, pass
    ``metainfo=dict(classes=BASE_CLASSES)`` (or use the ``train_base`` split, which has no
    novel objects). Each data info also carries the scene's ``caption``.

    Example::

        dict(type='OVShapesDetDataset', data_root='data/ovshapes/',
             ann_file='test/annotations.json', data_prefix=dict(img='test/images/'))
    """

    METAINFO = dict(classes=CLASSES, base_classes=BASE_CLASSES, novel_classes=NOVEL_CLASSES,
                    palette=palette())

    def parse_data_info(self, raw_data_info: dict) -> dict:
        """COCO parsing plus the scene caption."""
        info = super().parse_data_info(raw_data_info)
        info['caption'] = raw_data_info['raw_img_info'].get('caption', '')
        return info
