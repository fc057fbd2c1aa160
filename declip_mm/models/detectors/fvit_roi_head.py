"""RoI head of the DeCLIP F-ViT: mmdet's ``StandardRoIHead`` plus test-time VLM region pooling.

At test time each box is also pooled (RoIAlign to 1x1, F-ViT's ``vlm_roi_extractor``) from the
dense DeCLIP map, and the bbox head fuses the resulting CLIP-space region embedding with its own
prediction (``fusion.fuse_ov_scores``). Training is mmdet's unchanged.
"""
from typing import List, Optional, Tuple

from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.utils import empty_instances
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox2roi
from mmdet.utils import ConfigType, InstanceList
from torch import Tensor


@MODELS.register_module()
class DeCLIPFViTRoIHead(StandardRoIHead):
    """``StandardRoIHead`` with a ``vlm_roi_extractor`` for the dense VLM map.

    Args:
        vlm_roi_extractor: an mmdet RoI extractor on the single dense map, e.g.
            ``SingleRoIExtractor`` with ``RoIAlign(output_size=1, sampling_ratio=0,
            use_torchvision=True)``, ``out_channels`` = text dim, ``featmap_strides`` =
            ``[patch size]``. None disables the fusion.
        **kwargs: ``StandardRoIHead`` arguments (``bbox_roi_extractor``, ``bbox_head`` (a
            ``DeCLIPOVBBoxHead``), ``mask_roi_extractor``, ``mask_head``, ...).
    """

    def __init__(self, vlm_roi_extractor: Optional[ConfigType] = None, **kwargs):
        super().__init__(**kwargs)
        self.vlm_roi_extractor = (MODELS.build(vlm_roi_extractor)
                                  if vlm_roi_extractor is not None else None)

    def pool_vlm(self, vlm_feat: Tensor, rois: Tensor) -> Tensor:
        """``(B, D, h, w)`` dense map, ``(N, 5)`` rois -> ``(N, D)`` region embeddings."""
        return self.vlm_roi_extractor([vlm_feat], rois).flatten(1)

    def predict(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
                batch_data_samples: SampleList, rescale: bool = False,
                vlm_feat: Optional[Tensor] = None) -> InstanceList:
        """mmdet's ``predict`` with the dense VLM map ``(B, D, h, w)`` passed to the boxes."""
        metas = [s.metainfo for s in batch_data_samples]
        results = self.predict_bbox(x, metas, rpn_results_list, rcnn_test_cfg=self.test_cfg,
                                    rescale=rescale if not self.with_mask else False,
                                    vlm_feat=vlm_feat)
        if self.with_mask:
            results = self.predict_mask(x, metas, results, rescale=rescale)
        return results

    def predict_bbox(self, x: Tuple[Tensor], batch_img_metas: List[dict],
                     rpn_results_list: InstanceList, rcnn_test_cfg: ConfigType,
                     rescale: bool = False, vlm_feat: Optional[Tensor] = None) -> InstanceList:
        """Boxes and (fused) class scores of every image; see ``StandardRoIHead.predict_bbox``."""
        proposals = [res.bboxes for res in rpn_results_list]
        rois = bbox2roi(proposals)
        if rois.shape[0] == 0:
            return empty_instances(batch_img_metas, rois.device, task_type='bbox',
                                   box_type=self.bbox_head.predict_box_type,
                                   num_classes=self.bbox_head.num_classes,
                                   score_per_cls=rcnn_test_cfg is None)
        out = self._bbox_forward(x, rois)
        vlm = None
        if vlm_feat is not None and self.vlm_roi_extractor is not None:
            vlm = self.pool_vlm(vlm_feat, rois)
        probs = self.bbox_head.class_probabilities(out['cls_score'], vlm)
        counts = tuple(len(p) for p in proposals)
        return self.bbox_head.predict_by_feat(
            rois=rois.split(counts), cls_scores=probs.split(counts),
            bbox_preds=out['bbox_pred'].split(counts), batch_img_metas=batch_img_metas,
            rcnn_test_cfg=rcnn_test_cfg, rescale=rescale)
