"""Region-classification accuracy (DeCLIP / CLIPSelf's COCO-panoptic protocol).

For box and mask features separately, and for thing and stuff regions separately, the metric
is the mean over classes (those with at least one region) of the per-class top-k accuracy,
reported in percent: ``box_thing_macc1``, ``box_stuff_macc5``, ``mask_thing_macc1``, ...
(the official ``macc_with_is_thing``). When the predictions carry them, the same is reported
for the crops (``crop_*``, the official ``crops`` figures) and the masked crops
(``masked_crop_*``; the official code makes these but does not score them). Overall
(class-agnostic) top-1 accuracies ``box_acc1``, ``mask_acc1``, ... are reported too.

The official code rounds each per-class accuracy to float16 before the mean (``.half()``); here
it stays float64, which differs by at most 2^-11 of each class's accuracy (< 0.05 points).
"""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from ...registry import METRICS

PREDICTION_KEYS = {'box': 'pred_box_topk', 'mask': 'pred_mask_topk',
                   'crop': 'pred_crop_topk', 'masked_crop': 'pred_masked_crop_topk'}


def mean_class_accuracy(correct: np.ndarray, labels: np.ndarray) -> float:
    """Mean over the present classes of the fraction of correct regions (nan if none)."""
    if len(labels) == 0:
        return float('nan')
    return float(np.mean([correct[labels == c].mean() for c in np.unique(labels)]))


def topk_correct(topk: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Whether each region's label is among its first ``k`` predictions: ``(N,)`` bool."""
    if len(labels) == 0:
        return np.zeros(0, bool)
    return (topk[:, :k] == labels[:, None]).any(1)


@METRICS.register_module()
class DeCLIPRegionClsMetric(BaseMetric):
    """Box / mask region-classification mAcc, thing / stuff split.

    Expects predictions with ``labels``, ``is_thing``, ``pred_box_topk`` and ``pred_mask_topk``
    (``DeCLIPRegionTextClassifier``), optionally ``pred_crop_topk`` and
    ``pred_masked_crop_topk`` (``crop_classifier.classify_crops``).

    Args:
        topk: the k of the reported accuracies.
    """

    default_prefix: Optional[str] = 'region_cls'

    def __init__(self, topk: Sequence[int] = (1, 5), collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.topk = tuple(topk)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for ds in data_samples:
            result = dict(labels=ds['labels'].cpu().numpy().astype(np.int64),
                          is_thing=ds['is_thing'].cpu().numpy().astype(bool))
            for kind, key in PREDICTION_KEYS.items():
                if key in ds:
                    result[kind] = ds[key].cpu().numpy()
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        labels = np.concatenate([r['labels'] for r in results]) if results else np.zeros(0, int)
        thing = np.concatenate([r['is_thing'] for r in results]) if results else np.zeros(0, bool)
        out: Dict[str, float] = {}
        kinds = [k for k in PREDICTION_KEYS
                 if k in ('box', 'mask') or (results and all(k in r for r in results))]
        for kind in kinds:
            preds = [r[kind] for r in results if len(r[kind])]
            width = max([p.shape[1] for p in preds], default=max(self.topk))
            top = np.concatenate(preds) if preds else np.zeros((0, width), np.int64)
            for k in self.topk:
                correct = topk_correct(top, labels, k)
                for split, sel in (('thing', thing), ('stuff', ~thing)):
                    out[f'{kind}_{split}_macc{k}'] = 100 * mean_class_accuracy(
                        correct[sel], labels[sel])
            out[f'{kind}_acc1'] = 100 * float(topk_correct(top, labels, 1).mean()) \
                if len(labels) else float('nan')
        out['num_regions'] = float(len(labels))
        return out
