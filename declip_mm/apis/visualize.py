"""Draw predictions: boxes with mmdet's ``DetLocalVisualizer``, masks with mmseg's
``SegLocalVisualizer`` plus a legend of the words found, on an image enlarged for small inputs.
"""
import colorsys
import copy
import warnings
from typing import List, Sequence, Tuple

import numpy as np

Colour = Tuple[int, int, int]


def distinct_colours(n: int) -> List[Colour]:
    """``n`` well separated saturated RGB colours (evenly spaced hues)."""
    return [tuple(int(255 * c) for c in colorsys.hsv_to_rgb((0.61803 * i) % 1.0, 0.85, 0.95))
            for i in range(n)]


def legend(image: np.ndarray, words: Sequence[str], colours: Sequence[Colour]) -> np.ndarray:
    """Draw a legend box (colour swatch + word per entry) in the top-left corner, in place.

    The box is scaled to the image (readable from about 64 px up) and clipped to it.
    """
    import cv2
    h, w = image.shape[:2]
    scale = max(0.3, min(h, w) / 450.0)
    row = max(8, int(round(22 * scale)))
    box_w = min(w, int(row * 1.4 + max(len(s) for s in words) * row * 0.55 + row * 0.6))
    box_h = min(h, row * len(words) + row // 3)
    panel = image[:box_h, :box_w].astype('float32')
    image[:box_h, :box_w] = (0.35 * panel + 0.65 * 255).astype('uint8')
    for k, (word, colour) in enumerate(zip(words, colours)):
        y = row // 6 + k * row
        if y + row > h:
            break
        x0, x1 = row // 4, row // 4 + row - row // 3
        cv2.rectangle(image, (x0, y + row // 6), (x1, y + row - row // 6),
                      tuple(int(c) for c in colour), -1)
        cv2.putText(image, word, (int(row * 1.2), y + int(row * 0.75)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.55 * row / 22, (0, 0, 0), 1, cv2.LINE_AA)
    return image


def draw_detection(image: np.ndarray, sample, words: Sequence[str], score_thr: float,
                   out_file: str) -> None:
    """Boxes, words and scores with mmdet's ``DetLocalVisualizer``; ``image`` is RGB."""
    from mmdet.visualization import DetLocalVisualizer
    vis = DetLocalVisualizer(name=f'declip_demo_det_{id(sample)}')
    vis.dataset_meta = dict(classes=tuple(words), palette=distinct_colours(len(words)))
    with warnings.catch_warnings():  # boxes touching the border: "out of bounds" noise
        warnings.simplefilter('ignore', UserWarning)
        vis.add_datasample('demo', image, sample, draw_gt=False, show=False,
                           pred_score_thr=score_thr, out_file=out_file)


def unpaint_low_scores(sample, seg_thr: float):
    """Set ``pred_sem_seg`` to 255 (not drawn) where the best class score is below ``seg_thr``."""
    if seg_thr <= 0 or 'seg_logits' not in sample:
        return sample
    scores = sample.seg_logits.data
    labels = sample.pred_sem_seg.data.clone()
    labels[(scores.max(dim=0, keepdim=True).values < seg_thr)] = 255
    sample.pred_sem_seg.data = labels
    return sample


def enlarge(image: np.ndarray, sample, factor: int, scope: str):
    """Nearest-neighbour ``factor`` x enlargement of an RGB image and its predictions."""
    if factor <= 1:
        return image, sample
    image = np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)
    if scope == 'mmseg':
        from mmengine.structures import PixelData
        for key in ('pred_sem_seg', 'seg_logits'):
            if key in sample:
                data = getattr(sample, key).data
                setattr(sample, key, PixelData(data=data.repeat_interleave(factor, -2)
                                               .repeat_interleave(factor, -1)))
    elif 'pred_instances' in sample:
        sample.pred_instances.bboxes = sample.pred_instances.bboxes * factor
    return image, sample


def draw_factor(height: int, width: int, draw_size: int) -> int:
    """Integer enlargement that brings the short side to at least ``draw_size`` (1: none)."""
    short = min(height, width)
    return 1 if draw_size <= 0 or short >= draw_size else -(-draw_size // short)


def draw_segmentation(image: np.ndarray, sample, words: Sequence[str], out_file: str) -> None:
    """Coloured masks with mmseg's ``SegLocalVisualizer``, then a legend of the words found
    (largest areas first)."""
    import mmcv
    from mmseg.visualization import SegLocalVisualizer
    colours = distinct_colours(len(words))
    vis = SegLocalVisualizer(name=f'declip_demo_seg_{id(sample)}', alpha=0.55)
    vis.dataset_meta = dict(classes=tuple(words), palette=colours)
    vis.add_datasample('demo', image, sample, draw_gt=False, show=False,
                       with_labels=min(image.shape[:2]) >= 300)
    drawn = vis.get_image()
    labels, counts = np.unique(sample.pred_sem_seg.data.cpu().numpy(), return_counts=True)
    order = np.argsort(-counts)  # largest areas first; specks (< 0.5 %) are left out
    min_count = max(1, int(0.005 * image.shape[0] * image.shape[1]))
    found = [int(labels[i]) for i in order if 0 <= labels[i] < len(words)
             and counts[i] >= min_count]
    if found:
        drawn = legend(np.ascontiguousarray(drawn), [words[k] for k in found],
                       [colours[k] for k in found])
    mmcv.imwrite(mmcv.rgb2bgr(drawn), out_file)


def draw_prediction(image: np.ndarray, sample, words: Sequence[str], out_file: str, scope: str,
                    score_thr: float = 0.3, seg_thr: float = 0.0, draw_size: int = 0) -> None:
    """Draw one prediction into ``out_file``.

    Args:
        image: ``(H, W, 3)`` RGB uint8, the input the prediction is for.
        sample: a ``DetDataSample`` (``scope='mmdet'``) or ``SegDataSample`` (``'mmseg'``).
        words: the label of each class index.
        score_thr: boxes below this score are not drawn.
        seg_thr: pixels whose best class score is below this stay unpainted (0: paint all).
        draw_size: draw images whose short side is below this on a copy enlarged by an
            integer factor (nearest neighbour); 0: at the input size.

    The caller's ``sample`` is left as it is (thresholding and enlarging work on a copy).
    """
    sample = copy.deepcopy(sample)  # BaseDataElement.clone shares the PixelData / tensors
    if scope == 'mmseg':
        sample = unpaint_low_scores(sample, seg_thr)
    image, sample = enlarge(image, sample, draw_factor(*image.shape[:2], draw_size), scope)
    if scope == 'mmseg':
        draw_segmentation(image, sample, words, out_file)
    else:
        draw_detection(image, sample, words, score_thr, out_file)
