"""DeCLIPRegionClassifier: evaluate any DeCLIPViT checkpoint on region classification.

Used through ``tools/test.py CONFIG CHECKPOINT``: the checkpoint may be an ensembled backbone
written by ``DeCLIPEnsembleCheckpointHook`` (``visual.*`` keys), an official DeCLIP / EVA-CLIP
file, an open_clip file, an mmengine checkpoint of ``DeCLIPDistiller`` (its ``student`` is
evaluated) or one of this model. A load pre-hook maps all of them to ``backbone.visual.*``.
"""
from typing import Optional, Sequence

from mmengine.model import BaseModel
from torch import Tensor

from ...checkpoint import visual_state_dict
from ...registry import MODELS
from ...utils.errors import CheckpointError, ConfigError
from .crop_classifier import classify_crops


def adapt_region_classifier_state(state_dict: dict) -> None:
    """Rewrite a checkpoint's keys in place to this model's layout (``backbone.visual.*``)."""
    if any(k.startswith('backbone.visual.') for k in state_dict):
        return
    visual = visual_state_dict(state_dict)
    if not visual:
        raise CheckpointError('checkpoint has no image-tower weights (expected "visual." keys in '
                              'the declip_mm, open_clip, EVA-CLIP or DeCLIPDistiller layout)')
    keep = {k: v for k, v in state_dict.items() if k.startswith('classifier.')}
    state_dict.clear()
    state_dict.update({f'backbone.{k}': v for k, v in visual.items()})
    state_dict.update(keep)


@MODELS.register_module()
class DeCLIPRegionClassifier(BaseModel):
    """A ``DeCLIPViT`` plus a ``DeCLIPRegionTextClassifier``; predict-only.

    Args:
        backbone: ``DeCLIPViT`` config (its ``mode`` is the inference mode, e.g. ``csa`` for
            the released checkpoints, ``qq`` for models distilled in qq mode).
        classifier: ``DeCLIPRegionTextClassifier`` config.
        data_preprocessor: defaults to ``DeCLIPDistillDataPreprocessor`` (CLIP mean / std,
            BGR -> RGB).
    """

    def __init__(self, backbone: dict, classifier: dict,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor or
                         dict(type='DeCLIPDistillDataPreprocessor'), init_cfg=init_cfg)
        backbone = dict(backbone)
        backbone.setdefault('type', 'DeCLIPViT')
        self.backbone = MODELS.build(backbone)
        classifier = dict(classifier)
        classifier.setdefault('type', 'DeCLIPRegionTextClassifier')
        self.classifier = MODELS.build(classifier)
        self.register_load_state_dict_pre_hook(self._adapt_checkpoint)

    @staticmethod
    def _adapt_checkpoint(module, state_dict, prefix, *args) -> None:
        if prefix == '':
            adapt_region_classifier_state(state_dict)

    def forward(self, inputs: Tensor, data_samples: Optional[Sequence] = None,
                mode: str = 'predict'):
        if mode == 'loss':
            raise ConfigError('DeCLIPRegionClassifier is for evaluation only (tools/test.py)')
        dense = self.backbone.encode_dense(inputs, normalize=False)
        if mode == 'tensor':
            return dense
        samples = self.classifier.predict(dense, data_samples)
        return classify_crops(self.backbone, self.classifier.class_embeddings(dense.device),
                              samples, self.classifier.topk)
