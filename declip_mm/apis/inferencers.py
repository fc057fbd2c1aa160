"""mmdet's ``DetInferencer`` and mmseg's ``MMSegInferencer`` for declip_mm models.

The stock inferencers load weights non-strictly, take their classes from the checkpoint's
``dataset_meta`` and need a stock ``LoadImageFromFile`` in the test pipeline. These thin
subclasses change exactly that: the model is built by :func:`~declip_mm.apis.init_model`
(strict loading, the config's ``init_cfg`` when no checkpoint is given) with the
``vocabulary`` the caller names, and our image loader is read as the stock one. Everything
else (batching, ``return_datasamples``, visualisation, ``out_dir``) is the stock code::

    from declip_mm.apis import DeCLIPDetInferencer
    infer = DeCLIPDetInferencer('configs/ovshapes/fvit_tiny-declip_ovshapes.py', 'iter_400.pth',
                                vocabulary='red circle,blue bar')
    result = infer('scene.png', out_dir='outputs/infer')   # predictions + pictures
"""
import copy
from typing import Optional, Union

from mmdet.apis import DetInferencer
from mmengine.config import Config
from mmseg.apis import MMSegInferencer
from torch import nn

from ..vocab import VocabSpec
from .inference import init_model, load_model_config, resolve_words, test_pipeline_cfg


def stock_loader_cfg(cfg: Config, loader: str) -> Config:
    """A copy of ``cfg`` whose test pipeline has no annotation loading and loads images with
    the stock ``loader`` type (which the inferencers look for and replace)."""
    from .inference import IMAGE_LOADERS
    cfg = copy.deepcopy(cfg)
    pipeline = test_pipeline_cfg(cfg)
    for t in pipeline:
        if t['type'] in IMAGE_LOADERS:
            t['type'] = loader
    cfg.test_dataloader.dataset.pipeline = pipeline
    return cfg


class _DeCLIPModelMixin:
    """``_init_model`` through :func:`init_model`, with the vocabulary given at construction."""
    _vocabulary: Optional[VocabSpec] = None
    _random_weights: bool = False

    def _init_model(self, cfg: Config, weights: Optional[str], device: str = 'cpu') -> nn.Module:
        return init_model(cfg, weights, device or 'cpu', self._vocabulary,
                          random_weights=self._random_weights)


class DeCLIPDetInferencer(_DeCLIPModelMixin, DetInferencer):
    """``DetInferencer`` for declip_mm detectors (``DeCLIPFViT``).

    Args:
        model: config file or ``Config``.
        weights: checkpoint loaded strictly (``None``: the config's ``init_cfg`` weights).
        vocabulary: classes to detect (any ``declip_mm.vocab`` spec); ``None``: the model's.
        device: where the model runs.
        random_weights: allow weights from no file (tests).
        **kwargs: passed to ``DetInferencer`` (``show_progress``).
    """

    def __init__(self, model: Union[str, Config], weights: Optional[str] = None,
                 vocabulary: Optional[VocabSpec] = None, device: Optional[str] = None,
                 random_weights: bool = False, **kwargs) -> None:
        self._vocabulary = None if vocabulary is None else resolve_words(vocabulary)
        self._random_weights = random_weights
        super().__init__(load_model_config(model), weights, device, scope='mmdet', **kwargs)

    def _init_pipeline(self, cfg: Config):
        return super()._init_pipeline(stock_loader_cfg(cfg, 'LoadImageFromFile'))


class DeCLIPSegInferencer(_DeCLIPModelMixin, MMSegInferencer):
    """``MMSegInferencer`` for declip_mm segmentors (``DeCLIPTrainingFreeSegmentor``,
    ``DeCLIPCATSeg``). Arguments as :class:`DeCLIPDetInferencer`; the visualizer gets the
    vocabulary's words and distinct colours."""

    def __init__(self, model: Union[str, Config], weights: Optional[str] = None,
                 vocabulary: Optional[VocabSpec] = None, device: Optional[str] = None,
                 random_weights: bool = False, **kwargs) -> None:
        from .inference import display_name
        from .visualize import distinct_colours
        self._vocabulary = None if vocabulary is None else resolve_words(vocabulary)
        self._random_weights = random_weights
        if self._vocabulary is not None:
            kwargs.setdefault('classes', [display_name(w) for w in self._vocabulary])
            kwargs.setdefault('palette', distinct_colours(len(self._vocabulary)))
        super().__init__(load_model_config(model), weights, device=device, scope='mmseg',
                         **kwargs)

    def _init_pipeline(self, cfg: Config):
        return super()._init_pipeline(stock_loader_cfg(cfg, 'LoadImageFromFile'))
