"""The in-package API: build, run and draw declip_mm models; train and test configs.

* :func:`init_model`, :func:`inference_model`, :func:`set_vocabulary`: a detector or segmentor
  from a config and checkpoint, run on images (paths or arrays) with any vocabulary, returning
  mmdet ``DetDataSample`` / mmseg ``SegDataSample``;
* :func:`draw_prediction` (``visualize``), :func:`demo`: pictures with mmdet's / mmseg's
  visualizers;
* ``declip_mm.apis.inferencers``: ``DeCLIPDetInferencer`` and ``DeCLIPSegInferencer``, mmdet's
  ``DetInferencer`` and mmseg's ``MMSegInferencer`` for these models (imported on demand: they
  import mmdet's and mmseg's whole ``apis``);
* :func:`train_config` / :func:`train`, :func:`test_config` / :func:`test`: what
  ``tools/train.py`` and ``tools/test.py`` run, returning the model, its checkpoint and the
  metrics.
"""
from .demo import demo
from .evaluate import test, test_config
from .inference import inference_model, init_model, set_vocabulary
from .train import TrainResult, train, train_config
from .visualize import draw_prediction

__all__ = ['init_model', 'inference_model', 'set_vocabulary', 'draw_prediction', 'demo',
           'train_config', 'train', 'TrainResult',
           'test_config', 'test']
