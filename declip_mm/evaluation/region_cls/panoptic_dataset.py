"""COCO panoptic images with their ground-truth regions, for DeCLIP's region classification.

Every segment of an image becomes one region (thing and stuff alike, crowd things included,
as the official evaluation does): its class label, whether it is a thing, its segment id in
the panoptic PNG and, for things, the annotated box (stuff boxes come from the mask when the
PNG is read, ``DeCLIPLoadPanopticRegions``). Labels follow the order of
``metainfo['classes']`` (for COCO panoptic: the 133 categories sorted by id, the order of the
official text-embedding files); categories outside it are skipped.
"""
import os.path as osp
from typing import Dict, List

from mmdet.datasets import CocoPanopticDataset
from mmdet.registry import DATASETS

from ...utils.errors import DataError


@DATASETS.register_module()
class DeCLIPCocoPanopticRegionDataset(CocoPanopticDataset):
    """``CocoPanopticDataset`` whose samples list every panoptic segment as a region.

    Each data info holds ``img_path``, ``seg_map_path``, ``img_id``, ``height``, ``width`` and
    ``regions``: a list of ``dict(id, label, is_thing, bbox)`` (``bbox`` xywh from the json).
    ``data_prefix`` needs ``img`` and ``seg`` (the folder of panoptic PNGs).
    """

    def _label_table(self) -> Dict[int, int]:
        if getattr(self, '_cat_to_label', None) is None:
            index = {name: i for i, name in enumerate(self.metainfo['classes'])}
            self._cat_to_label = {cat['id']: index[cat['name']]
                                  for cat in self.coco.cats.values() if cat['name'] in index}
            if not self._cat_to_label:
                raise DataError(f'{self.ann_file}: no category matches metainfo classes')
        return self._cat_to_label

    def parse_data_info(self, raw_data_info: dict) -> dict:
        img_info = raw_data_info['raw_img_info']
        if not self.data_prefix.get('seg'):
            raise DataError('DeCLIPCocoPanopticRegionDataset needs data_prefix["seg"] '
                            '(the folder of panoptic PNGs)')
        seg_name = img_info.get('segm_file') or img_info['file_name'].rsplit('.', 1)[0] + '.png'
        table = self._label_table()
        regions: List[dict] = []
        for ann in raw_data_info['raw_ann_info']:
            if ann['image_id'] != img_info['img_id'] or ann['category_id'] not in table:
                continue
            cat = self.coco.cats[ann['category_id']]
            regions.append(dict(id=int(ann['id']), label=table[ann['category_id']],
                                is_thing=bool(cat.get('isthing', 0)),
                                bbox=[float(v) for v in ann['bbox']]))
        return dict(img_path=osp.join(self.data_prefix['img'], img_info['file_name']),
                    seg_map_path=osp.join(self.data_prefix['seg'], seg_name),
                    img_id=img_info['img_id'], height=img_info['height'],
                    width=img_info['width'], regions=regions)

    def filter_data(self) -> List[dict]:
        """Keep every image (evaluation); drop images without regions if asked."""
        if self.filter_cfg and self.filter_cfg.get('filter_empty_gt', False):
            return [d for d in self.data_list if d['regions']]
        return self.data_list
