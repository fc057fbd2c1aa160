"""Build a declip_mm detector or segmentor and run it on images with any vocabulary.

    from declip_mm.apis import init_model, inference_model
    model = init_model('configs/ovshapes/fvit_tiny-declip_ovshapes.py', 'iter_400.pth',
                       vocabulary='red circle,blue bar')
    samples = inference_model(model, ['scene.png', bgr_array])   # DetDataSample / SegDataSample

The vocabulary is any spec ``declip_mm.vocab.resolve_vocabulary`` reads (a builtin name, a
``.txt`` / ``.json`` class file, a comma list, ``'kitten; cat'`` for synonyms). Images are file
paths or ``(H, W, 3)`` BGR uint8 arrays (mmcv's order), one forward each.
"""
import copy
import os.path as osp
from typing import List, Optional, Sequence, Union

import numpy as np
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from torch import nn

from ..vocab import VocabSpec

ImageInput = Union[str, np.ndarray]
DROP_FROM_TEST_PIPELINE = ('LoadAnnotations', 'mmdet.LoadAnnotations', 'mmseg.LoadAnnotations',
                           'DeCLIPLoadWideSegAnnotations')
IMAGE_LOADERS = ('DeCLIPLoadImageFromFile', 'LoadImageFromFile', 'mmdet.LoadImageFromFile',
                 'mmseg.LoadImageFromFile', 'mmcv.LoadImageFromFile')


def load_model_config(config: Union[str, Config], cfg_options: Optional[dict] = None) -> Config:
    """A config file (checked by ``load_config``) or a ``Config``, with ``cfg_options``."""
    from ..engine.config_tools import load_config
    if isinstance(config, Config):
        cfg = copy.deepcopy(config)
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        return cfg
    return load_config(config, cfg_options)


def scope_of(cfg: Config) -> str:
    """``'mmdet'`` or ``'mmseg'``: the config's ``default_scope``."""
    return cfg.get('default_scope', 'mmdet')


def resolve_words(vocabulary: VocabSpec) -> List:
    """The entries of a vocabulary spec, checked (one ``ConfigError`` line when bad)."""
    from ..vocab import check_vocabulary, resolve_vocabulary
    words = resolve_vocabulary(vocabulary, free_text=True)
    check_vocabulary(words)
    return words


def set_vocabulary(model: nn.Module, vocabulary: VocabSpec) -> List:
    """Give ``model`` the vocabulary and record it as ``model.dataset_meta['classes']`` (what
    mmdet's and mmseg's visualizers read). Returns the resolved entries."""
    from ..utils.errors import ConfigError
    if not hasattr(model, 'set_vocabulary'):
        raise ConfigError(f'{type(model).__name__} has no set_vocabulary(); a vocabulary needs a '
                          'declip_mm open-vocabulary model (DeCLIPFViT, '
                          'DeCLIPTrainingFreeSegmentor, DeCLIPCATSeg)')
    words = resolve_words(vocabulary)
    model.set_vocabulary(list(words))
    record_vocabulary(model, words)
    return words


def current_vocabulary(model: nn.Module) -> Optional[List]:
    """The entries ``model`` predicts now (``None`` for a model without a vocabulary)."""
    if hasattr(model, 'predict_vocabulary'):  # DeCLIPFViT: set_vocabulary's, else training's
        return list(model.predict_vocabulary())
    words = getattr(model, 'vocabulary', None)
    return list(words) if isinstance(words, (list, tuple)) else None


def record_vocabulary(model: nn.Module, words: Sequence) -> None:
    """``model.dataset_meta``: the classes (labels drawn) and a palette of distinct colours."""
    from .visualize import distinct_colours
    model.dataset_meta = dict(classes=tuple(display_name(w) for w in words),
                              palette=distinct_colours(len(words)))


def display_name(entry) -> str:
    """The label drawn for a vocabulary entry (its synonyms joined by ``'; '``)."""
    return entry if isinstance(entry, str) else '; '.join(entry)


def init_model(config: Union[str, Config], checkpoint: Optional[str] = None,
               device: str = 'cpu', vocabulary: Optional[VocabSpec] = None,
               cfg_options: Optional[dict] = None, random_weights: bool = False) -> nn.Module:
    """Build the config's model, load its weights and set its vocabulary; eval mode.

    Args:
        config: config file or ``Config`` (mmdet or mmseg, by its ``default_scope``).
        checkpoint: loaded strictly over the built model (a detector / segmentor file, or a
            bare CLIP / DeCLIP file for the segmentors). ``None``: the weights named in the
            config's ``init_cfg``, which must then cover the whole model.
        device: where the model runs.
        vocabulary: classes to predict (see the module docstring); ``None`` keeps the model's.
        cfg_options: ``{dotted key: value}`` overrides.
        random_weights: allow weights that come from no file (tests of the drawing).

    Returns:
        the model, with ``model.cfg`` (the config) and, for open-vocabulary models,
        ``model.dataset_meta`` (classes, palette).
    """
    from mmengine.registry import MODELS, init_default_scope

    from ..checkpoint.model_loading import load_model_checkpoint, require_init_weights
    cfg = load_model_config(config, cfg_options)
    init_default_scope(scope_of(cfg))
    model = MODELS.build(cfg.model)
    if checkpoint:
        load_model_checkpoint(model, checkpoint, strict=True)
    else:
        if not random_weights:
            require_init_weights(model, 'give a checkpoint (--checkpoint)')
        model.init_weights()
    model.cfg = cfg
    if vocabulary is not None:
        set_vocabulary(model, vocabulary)
    elif current_vocabulary(model) is not None:
        record_vocabulary(model, current_vocabulary(model))
    return model.to(device).eval()


def test_pipeline_cfg(cfg: Config, from_array: bool = False) -> list:
    """The config's test pipeline without annotation loading (images only); ``from_array``
    replaces the image loader by ``LoadImageFromNDArray`` of the config's scope."""
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader')
    pipeline = cfg.get('test_pipeline') or loader['dataset']['pipeline']
    out = [copy.deepcopy(t) for t in pipeline if t['type'] not in DROP_FROM_TEST_PIPELINE]
    if from_array:
        for t in out:
            if t['type'] in IMAGE_LOADERS:
                t['type'] = f'{scope_of(cfg)}.LoadImageFromNDArray'
    return out


test_pipeline_cfg.__test__ = False  # not a pytest test


def prepare(cfg: Config, images: Sequence[ImageInput]) -> List[dict]:
    """Each image through the test pipeline: packed ``inputs`` / ``data_samples`` dicts."""
    pipelines = {}
    out = []
    for i, image in enumerate(images):
        from_array = isinstance(image, np.ndarray)
        if from_array not in pipelines:
            pipelines[from_array] = Compose(test_pipeline_cfg(cfg, from_array))
        if from_array:
            out.append(pipelines[True](dict(img=image, img_id=i)))
        else:
            if not osp.isfile(image):
                raise FileNotFoundError(image)
            out.append(pipelines[False](dict(img_path=image, img_id=i)))
    return out


def inference_model(model: nn.Module, images: Sequence[ImageInput],
                    vocabulary: Optional[VocabSpec] = None) -> list:
    """Predictions for ``images``, one ``model.test_step`` per image.

    Args:
        model: from :func:`init_model` (its ``cfg`` gives the test pipeline).
        images: file paths or ``(H, W, 3)`` BGR uint8 arrays.
        vocabulary: set first (see :func:`set_vocabulary`); ``None`` keeps the model's.

    Returns:
        one mmdet ``DetDataSample`` (``pred_instances``) or mmseg ``SegDataSample``
        (``pred_sem_seg``, ``seg_logits``) per image.
    """
    import torch
    if vocabulary is not None:
        set_vocabulary(model, vocabulary)
    results = []
    with torch.no_grad():
        for data in prepare(model.cfg, images):
            results += model.test_step(pseudo_collate([data]))
    return results
