"""Words in, pictures out: open-vocabulary detection or segmentation of your own images.

    python tools/demo.py IMAGE [IMAGE ...] --words "cat,cup,rocket" --config CONFIG \
        [--checkpoint CKPT] [--out-dir outputs/demo] [--score-thr 0.3] [--seg-thr 0.0]
        [--draw-size 0] [--device cpu]

Writes one PNG per image into ``--out-dir``, the size of the input (``--draw-size N`` draws
images whose short side is below N on a copy enlarged by an integer factor, for small inputs
such as the 64 px OV-Shapes scenes):

* an mmdet config (e.g. ``configs/ovshapes/fvit_tiny-declip_ovshapes.py``, a trained
  ``DeCLIPFViT``): boxes with the word and score, drawn by mmdet's ``DetLocalVisualizer``;
* an mmseg config (``DeCLIPTrainingFreeSegmentor``, ``DeCLIPCATSeg``): coloured masks drawn by
  mmseg's ``SegLocalVisualizer`` plus a legend of the words found; pixels whose best score is
  below ``--seg-thr`` stay unpainted. The training-free segmentor needs no training: give it
  CLIP weights (the config's ``init_cfg`` or ``--checkpoint``).

The words replace the model's vocabulary (``set_vocabulary``); ``'kitten; cat'`` gives one class
with two synonyms. ``--words`` is read by ``declip_mm.vocab.resolve_vocabulary`` (a builtin
vocabulary name or a class file works too).
Without ``--checkpoint`` the weights named in the config's ``init_cfg`` are
loaded, and they must cover the whole model; with it, the checkpoint is loaded strictly over the
built model (a detector / segmentor file, or a bare CLIP / DeCLIP file for the segmentors, whose
text tower then comes from the config's text-encoder ``init_cfg``). A file that does not fit,
or a model left with weights from no file, is one error line.

Example (no training needed, the shipped tiny OV-Shapes CLIP)::

    python tools/demo.py data/ovshapes/test/images/000000.png --seg-thr 0.5 \
        --words "red circle,blue bar,green square" \
        --config configs/ovshapes/seg_training-free_tiny-declip_ovshapes.py
"""
import argparse
import colorsys
import os
import os.path as osp
import warnings
from typing import List, Optional, Sequence, Tuple

from _bootstrap import run_main

Colour = Tuple[int, int, int]
DROP_FROM_TEST_PIPELINE = ('LoadAnnotations', 'mmdet.LoadAnnotations', 'mmseg.LoadAnnotations',
                           'DeCLIPLoadWideSegAnnotations')


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Open-vocabulary detection / segmentation pictures')
    p.add_argument('images', nargs='+', help='image files')
    p.add_argument('--words', required=True,
                   help='comma-separated class names, e.g. "cat,coffee cup,kitten; cat" (";" '
                        'separates synonyms), a .txt / .json class file or a builtin vocabulary')
    p.add_argument('--config', required=True, help='an mmdet or mmseg config')
    p.add_argument('--checkpoint', default=None,
                   help='weights loaded over the model (default: the config\'s init_cfg)')
    p.add_argument('--out-dir', default='outputs/demo', help='where the PNGs go')
    p.add_argument('--score-thr', type=float, default=0.3, help='detection score threshold')
    p.add_argument('--seg-thr', type=float, default=0.0,
                   help='segmentation: leave pixels whose best class score is below this '
                        'unpainted (0: paint every pixel)')
    p.add_argument('--draw-size', type=int, default=0,
                   help='draw images whose short side is below this on a copy enlarged by an '
                        'integer factor (nearest neighbour); 0: draw at the input size')
    p.add_argument('--device', default='cpu')
    p.add_argument('--random-weights', action='store_true',
                   help='draw even if some weights come from no checkpoint (tests the drawing)')
    p.add_argument('--cfg-options', nargs='+', default=None, metavar='KEY=VALUE',
                   help='override config entries, as in tools/test.py')
    return p.parse_args(argv)


def distinct_colours(n: int) -> List[Colour]:
    """``n`` well separated saturated RGB colours (evenly spaced hues)."""
    return [tuple(int(255 * c) for c in colorsys.hsv_to_rgb((0.61803 * i) % 1.0, 0.85, 0.95))
            for i in range(n)]


def test_pipeline_cfg(cfg) -> list:
    """The test pipeline of the config without annotation loading (images only)."""
    import copy
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader')
    pipeline = cfg.get('test_pipeline') or loader['dataset']['pipeline']
    return [copy.deepcopy(t) for t in pipeline if t['type'] not in DROP_FROM_TEST_PIPELINE]


def build_model(cfg, checkpoint: Optional[str], device: str, random_weights: bool = False):
    """Build the config's model; load ``checkpoint`` over it strictly, else its ``init_cfg``
    weights, which must then cover the whole model (``random_weights`` skips that check)."""
    from mmengine.registry import MODELS
    from declip_mm.checkpoint.model_loading import load_model_checkpoint, require_init_weights
    model = MODELS.build(cfg.model)
    if checkpoint:
        load_model_checkpoint(model, checkpoint, strict=True)
    else:
        if not random_weights:
            require_init_weights(model, 'give --checkpoint')
        model.init_weights()
    return model.to(device).eval()


def run_model(model, cfg, image_paths: Sequence[str]) -> list:
    """Predictions (data samples) for the images, one forward per image."""
    import torch
    from mmengine.dataset import Compose, pseudo_collate
    pipeline = Compose(test_pipeline_cfg(cfg))
    results = []
    with torch.no_grad():
        for i, path in enumerate(image_paths):
            data = pipeline(dict(img_path=path, img_id=i))
            results += model.test_step(pseudo_collate([data]))
    return results


def legend(image, words: Sequence[str], colours: Sequence[Colour]):
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
        cv2.rectangle(image, (row // 4, y + row // 6), (row // 4 + row - row // 3, y + row - row // 6),
                      tuple(int(c) for c in colour), -1)
        cv2.putText(image, word, (int(row * 1.2), y + int(row * 0.75)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.55 * row / 22, (0, 0, 0), 1, cv2.LINE_AA)
    return image


def draw_detection(image, sample, words: Sequence[str], score_thr: float, out_file: str) -> None:
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


def enlarge(image, sample, factor: int, scope: str):
    """Nearest-neighbour ``factor`` x enlargement of an RGB image and its predictions."""
    import numpy as np
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


def draw_segmentation(image, sample, words: Sequence[str], out_file: str) -> None:
    """Coloured masks with mmseg's ``SegLocalVisualizer``, then a legend of the words found
    (largest areas first)."""
    import mmcv
    import numpy as np
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


def demo(images: Sequence[str], words: Sequence[str], cfg, checkpoint: Optional[str] = None,
         out_dir: str = 'outputs/demo', score_thr: float = 0.3, seg_thr: float = 0.0,
         draw_size: int = 0, device: str = 'cpu', random_weights: bool = False) -> List[str]:
    """Run the model of ``cfg`` on ``images`` with the vocabulary ``words``; write one PNG per
    image into ``out_dir`` and return their paths (``random_weights``: allow a model without
    trained weights, to test the drawing)."""
    import mmcv
    from mmengine.registry import init_default_scope
    from declip_mm.utils.errors import ConfigError
    scope = cfg.get('default_scope', 'mmdet')
    init_default_scope(scope)
    model = build_model(cfg, checkpoint, device, random_weights)
    if not hasattr(model, 'set_vocabulary'):
        raise ConfigError(f'{type(model).__name__} has no set_vocabulary(); the demo needs a '
                          'declip_mm open-vocabulary model (DeCLIPFViT, DeCLIPTrainingFreeSegmentor, '
                          'DeCLIPCATSeg)')
    model.set_vocabulary(list(words))
    for path in images:
        if not osp.isfile(path):
            raise FileNotFoundError(path)
    samples = run_model(model, cfg, images)
    os.makedirs(out_dir, exist_ok=True)
    outs = []
    for path, sample in zip(images, samples):
        image = mmcv.imread(path, channel_order='rgb')
        if scope == 'mmseg':
            sample = unpaint_low_scores(sample, seg_thr)
        image, sample = enlarge(image, sample, draw_factor(*image.shape[:2], draw_size), scope)
        out = osp.join(out_dir, osp.splitext(osp.basename(path))[0] + '.png')
        if scope == 'mmseg':
            draw_segmentation(image, sample, words, out)
        else:
            draw_detection(image, sample, words, score_thr, out)
        outs.append(out)
    return outs


def main(argv=None) -> None:
    args = parse_args(argv)
    from mmengine.config import DictAction
    from declip_mm.engine.config_tools import load_config
    options = None
    if args.cfg_options:
        ns = argparse.Namespace()
        DictAction(option_strings=[], dest='o')(None, ns, args.cfg_options)
        options = ns.o
    cfg = load_config(args.config, options)
    from mmengine.logging import MMLogger
    MMLogger.get_instance('mmengine', log_level='WARNING')  # no weight-init report
    import declip_mm  # noqa: F401  (registers the models)
    from declip_mm.utils.errors import ConfigError
    from declip_mm.vocab import check_vocabulary, resolve_vocabulary
    try:
        words = resolve_vocabulary(args.words, free_text=True)
        check_vocabulary(words)
    except ConfigError as err:
        raise ConfigError(f'--words: {err}') from None
    for out in demo(args.images, words, cfg, args.checkpoint, args.out_dir, args.score_thr,
                    args.seg_thr, args.draw_size, args.device, args.random_weights):
        print(out)


if __name__ == '__main__':
    run_main(main)
