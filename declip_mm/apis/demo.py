"""Words in, pictures out: the function behind ``tools/demo.py``.

Runs a declip_mm detector or segmentor (:func:`~declip_mm.apis.inference.init_model`) on image
files with a vocabulary and writes one PNG per image, the size of the input (or enlarged, see
``draw_size``): boxes with the word and score (mmdet), or coloured masks plus a legend (mmseg).
"""
import os
import os.path as osp
from typing import List, Optional, Sequence, Union

from mmengine.config import Config

from ..vocab import VocabSpec


def demo(images: Sequence[str], words: VocabSpec, cfg: Union[str, Config],
         checkpoint: Optional[str] = None, out_dir: str = 'outputs/demo',
         score_thr: float = 0.3, seg_thr: float = 0.0, draw_size: int = 0, device: str = 'cpu',
         random_weights: bool = False) -> List[str]:
    """Run the model of ``cfg`` on ``images`` with the vocabulary ``words``; write one PNG per
    image into ``out_dir`` and return their paths.

    Args:
        images: image files.
        words: the vocabulary (any spec ``declip_mm.vocab.resolve_vocabulary`` reads).
        cfg: an mmdet or mmseg config (file or ``Config``).
        checkpoint: weights loaded strictly over the model (default: the config's init_cfg).
        score_thr, seg_thr, draw_size: see :func:`~declip_mm.apis.visualize.draw_prediction`.
        device: where the model runs.
        random_weights: allow a model without trained weights, to test the drawing.
    """
    import mmcv

    from .inference import inference_model, init_model, scope_of
    from .visualize import draw_prediction
    model = init_model(cfg, checkpoint, device, words, random_weights=random_weights)
    labels = list(model.dataset_meta['classes'])
    for path in images:
        if not osp.isfile(path):
            raise FileNotFoundError(path)
    samples = inference_model(model, images)
    os.makedirs(out_dir, exist_ok=True)
    outs = []
    for path, sample in zip(images, samples):
        image = mmcv.imread(path, channel_order='rgb')
        out = osp.join(out_dir, osp.splitext(osp.basename(path))[0] + '.png')
        draw_prediction(image, sample, labels, out, scope_of(model.cfg), score_thr, seg_thr,
                        draw_size)
        outs.append(out)
    return outs
