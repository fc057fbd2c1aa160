"""DeCLIP F-ViT: a two-stage open-vocabulary detector on a frozen DeCLIP ViT (mmdet 3.x).

Design of CLIPSelf's F-ViT (``F-ViT/models/fvit.py``, mmdet 2) and CLIM's mmdet-3 F-VLM port
(``ovdet/ovdet/models/detectors/fvlm.py``), re-implemented on mmdet's ``TwoStageDetector``:

* the frozen ``DeCLIPViT`` runs without gradients and returns its maps at ``out_indices`` (the
  last one is the last block in the decoupled mode) plus the dense content map;
* the maps go through the neck (``DeCLIPPyramidAdapter`` + mmdet ``FPN``), RPN and RoI head;
* at test time the dense map is pooled per box and fused with the detector's scores;
* the class embeddings come from :class:`DeCLIPVocabulary`; the test vocabulary can be any list
  of words: ``set_vocabulary(words)``, the ``test_vocabulary`` argument, or the ``text`` of the
  data samples (mmdet's open-vocabulary convention: ``return_classes=True`` datasets, or
  ``DetInferencer(texts=...)``).
"""
import copy
from typing import List, Optional, Sequence, Tuple

import torch
from mmdet.models.detectors import TwoStageDetector
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor

from ...checkpoint import format_mismatch, mismatch_error, shape_mismatches
from ...checkpoint.model_loading import StrictPretrainedInit
from ...utils.errors import ConfigError
from ...vocab import check_vocabulary, resolve_vocabulary, split_synonyms
from .vocabulary import DeCLIPVocabulary, VocabSpec


def parse_text_prompt(text) -> List:
    """mmdet's data-sample ``text`` -> class names: a sequence is kept, a string
    ``'cat . dog . red car'`` is split on ``'.'`` (mmdet's custom-entities form)."""
    if isinstance(text, str):
        return [t.strip() for t in text.split('.') if t.strip()]
    return list(text)


@MODELS.register_module()
class DeCLIPFViT(StrictPretrainedInit, TwoStageDetector):
    """Open-vocabulary Faster / Mask R-CNN on a frozen DeCLIP ViT.

    Args:
        backbone: ``DeCLIPViT`` config (its maps feed the neck, its dense map the fusion);
            ``frozen`` defaults to True (the ViT then runs under ``torch.no_grad``).
        neck: e.g. ``[DeCLIPPyramidAdapter, FPN]`` (a list builds an ``nn.Sequential``).
        rpn_head, roi_head, train_cfg, test_cfg, data_preprocessor, init_cfg: as mmdet's
            ``TwoStageDetector``; ``roi_head`` is a ``DeCLIPFViTRoIHead`` with a
            ``DeCLIPOVBBoxHead``, whose ``num_classes`` is set from ``vocabulary``.
        vocabulary: training classes in label order (registered name, class-names file, list).
        base_classes: classes annotated in training; the others get zero loss weight and the
            novel-class fusion weight. None: all training classes.
        text_encoder: ``DeCLIPTextEncoder`` config embedding the vocabulary.
        class_embeddings: ``.pt`` / ``.npy`` file of pre-computed embeddings.
        test_vocabulary: default vocabulary at test time (None: ``vocabulary``).
    """

    def __init__(self, backbone: ConfigType, neck: ConfigType, rpn_head: ConfigType,
                 roi_head: ConfigType, train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None, vocabulary: VocabSpec = 'ov_coco',
                 base_classes: Optional[VocabSpec] = None,
                 text_encoder: OptConfigType = None, class_embeddings: Optional[str] = None,
                 test_vocabulary: Optional[VocabSpec] = None,
                 data_preprocessor: OptConfigType = None, init_cfg: OptMultiConfig = None):
        names = resolve_vocabulary(vocabulary)
        backbone = copy.deepcopy(backbone)
        backbone.setdefault('frozen', True)
        roi_head = copy.deepcopy(roi_head)
        for key in ('bbox_head', 'mask_head'):
            if isinstance(roi_head.get(key), dict):
                roi_head[key]['num_classes'] = len(names)
        super().__init__(backbone=backbone, neck=neck, rpn_head=rpn_head, roi_head=roi_head,
                         train_cfg=train_cfg, test_cfg=test_cfg,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.vocabulary = DeCLIPVocabulary(names, base_classes, text_encoder, class_embeddings)
        self.test_vocabulary = None
        if test_vocabulary is not None:
            self.set_vocabulary(test_vocabulary)
        self._check_parts()

    def _check_parts(self) -> None:
        head = self.roi_head.bbox_head
        if not hasattr(head, 'set_classes'):
            raise ConfigError(f'DeCLIPFViT needs a DeCLIPOVBBoxHead, got {type(head).__name__}')
        if head.embed_dim != self.backbone.embed_dim:
            raise ConfigError(f'bbox_head.embed_dim={head.embed_dim} but the backbone arch '
                              f'embeds into {self.backbone.embed_dim} dimensions')
        if head.background == 'text' and self.vocabulary.text_encoder is None:
            self.vocabulary.background_embedding()  # a file without a background row: one line
        vlm = getattr(self.roi_head, 'vlm_roi_extractor', None)
        if vlm is not None and list(vlm.featmap_strides) != [self.backbone.patch_size]:
            raise ConfigError(f'vlm_roi_extractor.featmap_strides={list(vlm.featmap_strides)} '
                              f'must be [{self.backbone.patch_size}] (the backbone patch size)')

    # ------------------------------------------------------------------ vocabulary
    def set_vocabulary(self, words: Optional[VocabSpec]) -> None:
        """Detect ``words`` (a list, class-names file or registered name) from now on; None
        restores the training vocabulary. Words that are not trained base classes are novel."""
        if words is None:
            self.test_vocabulary = None
            return
        names = resolve_vocabulary(words)
        check_vocabulary(names)
        self.test_vocabulary = names

    def predict_vocabulary(self, batch_data_samples: Optional[SampleList] = None) -> List:
        """Vocabulary of a prediction: the samples' ``text``, else ``set_vocabulary``'s, else the
        training one."""
        texts = [s.metainfo.get('text') for s in batch_data_samples or []]
        if texts and texts[0] is not None:
            names = parse_text_prompt(texts[0])
            if any(parse_text_prompt(t) != names for t in texts[1:] if t is not None):
                raise ConfigError('all images of a batch must share one text vocabulary')
            return names
        return list(self.test_vocabulary or self.vocabulary.names)

    def _use_classes(self, names: Sequence) -> None:
        head = self.roi_head.bbox_head
        emb = self.vocabulary.embeddings(names, device=head.bg_embedding.device)
        if emb.shape[1] != head.embed_dim:
            raise ConfigError(f'class embeddings have {emb.shape[1]} dimensions, the bbox head '
                              f'expects {head.embed_dim}')
        background = None
        if head.background == 'text':
            background = self.vocabulary.background_embedding(device=emb.device)
        head.set_classes(emb, self.vocabulary.base_mask(names), background)

    # ------------------------------------------------------------------ features
    def extract_backbone(self, batch_inputs: Tensor, dense: bool = True
                         ) -> Tuple[Tuple[Tensor, ...], Optional[Tensor]]:
        """``(pyramid input maps, dense VLM map (B, D, H/p, W/p) or None)``; no grad if frozen.

        ``dense=False`` skips the dense map (the last block's pass), which only inference reads.
        """
        frozen = not any(p.requires_grad for p in self.backbone.parameters())
        with torch.set_grad_enabled(torch.is_grad_enabled() and not frozen):
            feats = self.backbone.features(batch_inputs, dense=dense)
        return feats.maps, feats.dense

    def extract_feat(self, batch_inputs: Tensor) -> Tuple[Tensor, ...]:
        """FPN features ``(B, 256, H/s, W/s)`` for the strides of the neck (no dense map)."""
        maps, _ = self.extract_backbone(batch_inputs, dense=False)
        return self.neck(maps)

    # ------------------------------------------------------------------ modes
    def loss(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> dict:
        """mmdet's two-stage losses on the training vocabulary."""
        self._use_classes(self.vocabulary.names)
        return super().loss(batch_inputs, batch_data_samples)

    def _forward(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> tuple:
        self._use_classes(self.predict_vocabulary(batch_data_samples))
        return super()._forward(batch_inputs, batch_data_samples)

    def predict(self, batch_inputs: Tensor, batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """Boxes (and masks) with fused scores; ``pred_instances.label_names`` names the labels
        in the vocabulary used (see :meth:`predict_vocabulary`)."""
        names = self.predict_vocabulary(batch_data_samples)
        self._use_classes(names)
        maps, dense = self.extract_backbone(batch_inputs)
        x = self.neck(maps)
        if batch_data_samples[0].get('proposals', None) is None:
            rpn_results = self.rpn_head.predict(x, batch_data_samples, rescale=False)
        else:
            rpn_results = [s.proposals for s in batch_data_samples]
        results = self.roi_head.predict(x, rpn_results, batch_data_samples, rescale=rescale,
                                        vlm_feat=dense)
        label_names = [split_synonyms(n)[0] for n in names]
        for res in results:
            res.label_names = [label_names[i] for i in res.labels.tolist()]
        return self.add_pred_to_datasample(batch_data_samples, results)

    # ------------------------------------------------------------------ checkpoints
    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args, **kwargs) -> None:
        """Refuse, with one message, a checkpoint whose tensors do not fit this architecture."""
        own = {prefix + k: v for k, v in self.state_dict().items()}
        bad = shape_mismatches(own, state_dict)
        if bad or (own and not any(k in state_dict for k in own)):
            problem = format_mismatch(missing=[] if bad else sorted(own), wrong_shape=bad)
            raise mismatch_error('checkpoint', 'this DeCLIPFViT', problem,
                                 '(was it trained with another backbone arch or head size?)')
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
