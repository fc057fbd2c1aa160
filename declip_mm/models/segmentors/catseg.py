"""CAT-Seg (CVPR design) on a DeCLIP backbone, as an mmseg segmentor.

Pieces (all built from config): the DeCLIP image tower (``DeCLIPViT``, csa content map plus
two intermediate block maps as decoder guidance), the CAT-Seg text tower
(``DeCLIPCATSegTextEncoder``), the cost aggregator (neck, ``DeCLIPCATSegAggregator``) and the
upsampling decoder (decode head, ``DeCLIPCATSegHead``, one-hot BCE loss). Images are resized to
the CLIP resolution (384^2 for B/16, 336^2 for L/14: a 24x24 grid). Only the visual q / v
projection weights and the text in-projection weights of CLIP are trainable (set in the
backbone / text-encoder configs; their learning rate is scaled by ``paramwise_cfg``).

Inference (``test_cfg``) runs on mmseg's ``EncoderDecoder`` machinery, as CAT-Seg's own
``inference_sliding_window`` / whole-image path: ``mode='slide'`` resizes the image to
``out_size`` x ``out_size`` (640), averages sigmoid scores over ``crop_size`` windows (384,
stride 256 = overlap 1/3; mmseg's ``slide_inference``), then averages with a global view (the
whole image at ``crop_size``); ``mode='whole'`` runs the image once at the CLIP resolution and
keeps the head's ``4h x 4w`` sigmoid scores. Either result is resized once, straight to the
original image size (mmseg's ``postprocess_result``, which also un-flips), as upstream does;
test-time padding is refused (it would be resized into the picture).
The vocabulary is free at test time (``test_class_names`` or ``set_vocabulary``); an entry with
``'; '`` synonyms scores its class by the max over them (CAT-Seg's VOC-21 background group).
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.utils import to_2tuple
from mmseg.models.segmentors import EncoderDecoder
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import add_prefix
from torch import Tensor

from ...checkpoint.model_loading import StrictPretrainedInit
from ...utils.errors import ConfigError
from ...vocab import resolve_vocabulary
from .clip_weights import accept_clip_checkpoints
from .dataset_meta import VocabularyMeta
from .seg_utils import postprocess_scores, reduce_synonyms, vocabulary_groups
from .training_free import clip_data_preprocessor

DEFAULT_TEST_CFG = dict(mode='slide', crop_size=384, stride=256, out_size=640, global_view=True)


def catseg_test_cfg(cfg: Optional[dict]) -> ConfigDict:
    """``DEFAULT_TEST_CFG`` updated by ``cfg``; sizes as ``(h, w)`` pairs (mmseg's form)."""
    out = ConfigDict(DEFAULT_TEST_CFG, **(cfg or {}))
    if out.mode not in ('slide', 'whole'):
        raise ConfigError(f"test_cfg.mode must be 'slide' or 'whole', got {out.mode!r}")
    for key in ('crop_size', 'stride', 'out_size'):
        out[key] = to_2tuple(out[key])
    return out


@MODELS.register_module()
class DeCLIPCATSeg(StrictPretrainedInit, VocabularyMeta, EncoderDecoder):
    """CAT-Seg with DeCLIP features.

    Args:
        backbone: ``DeCLIPViT`` config with ``out_indices`` = the two guidance blocks
            ((3, 7) for B/16, (7, 15) for L/14); its dense map is always read.
        text_encoder: ``DeCLIPCATSegTextEncoder`` config.
        neck: ``DeCLIPCATSegAggregator`` config.
        decode_head: ``DeCLIPCATSegHead`` config.
        train_class_names: training vocabulary (builtin name, ``.txt`` path or list).
        test_class_names: inference vocabulary (defaults to the training one).
        first_synonym_only: encode only the first name of each entry (CAT-Seg's handling of
            alternative names, e.g. ADE-847); otherwise every synonym is a class of the cost
            volume and the entry takes their max.
        clip_resolution: CLIP input size (384, 384) / (336, 336).
        test_cfg: see the module docstring (ints or ``(h, w)`` pairs).
        pretrained: mmseg's ``EncoderDecoder`` argument (``init_model`` sets it to None).
    """

    def __init__(self,
                 backbone: dict,
                 text_encoder: dict,
                 neck: dict,
                 decode_head: dict,
                 train_class_names: Union[str, Sequence[str]],
                 test_class_names: Union[str, Sequence[str], None] = None,
                 first_synonym_only: bool = False,
                 clip_resolution: Sequence[int] = (384, 384),
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(backbone=backbone, decode_head=decode_head, neck=neck,
                         train_cfg=train_cfg, test_cfg=catseg_test_cfg(test_cfg),
                         data_preprocessor=data_preprocessor or clip_data_preprocessor(),
                         pretrained=pretrained, init_cfg=init_cfg)
        self.text_encoder = MODELS.build(text_encoder)
        self.clip_resolution = tuple(int(s) for s in clip_resolution)
        self.first_synonym_only = first_synonym_only
        self.train_names, self.train_index = self._vocabulary(train_class_names)
        self.set_vocabulary(test_class_names if test_class_names is not None
                            else train_class_names)
        accept_clip_checkpoints(self)

    def _init_decode_head(self, decode_head: dict) -> None:
        """Build the head; class counts follow the vocabulary (``num_classes``,
        ``out_channels`` properties) instead of the head's training count."""
        self.decode_head = MODELS.build(decode_head)
        self.align_corners = self.decode_head.align_corners

    # ------------------------------------------------------------------ vocabulary
    def _vocabulary(self, spec) -> Tuple[List[str], Tensor]:
        return vocabulary_groups(resolve_vocabulary(spec), self.first_synonym_only)

    def set_vocabulary(self, class_names: Union[str, Sequence[str]]) -> None:
        """Replace the inference vocabulary (one entry per output class)."""
        self.test_entries = resolve_vocabulary(class_names)
        self.test_names, self.test_index = vocabulary_groups(self.test_entries,
                                                             self.first_synonym_only)

    @property
    def vocabulary(self) -> List[str]:
        """One entry per output class (``VocabularyMeta``)."""
        return self.test_entries

    @property
    def out_channels(self) -> int:
        """Channels of ``encode_decode``: one score map per vocabulary name (T)."""
        return len(self.test_names)

    # ------------------------------------------------------------------ network
    def extract_feat(self, inputs: Tensor) -> Tuple[Tuple[Tensor, ...], Tensor]:
        """Resize to the CLIP resolution and run the backbone.

        Returns:
            the guidance block maps ``(B, width, h, w)`` and the dense map ``(B, D, h, w)``.
        """
        x = inputs
        if tuple(x.shape[-2:]) != self.clip_resolution:
            x = F.interpolate(x, size=self.clip_resolution, mode='bilinear', align_corners=False)
        feats = self.backbone.features(x, dense=True)
        return feats.maps, feats.dense

    def head_inputs(self, inputs: Tensor, names: Sequence[str]):
        guidance, dense = self.extract_feat(inputs)
        agg = self.neck(dense, self.text_encoder(names))
        return agg, guidance

    def logits(self, inputs: Tensor, names: Sequence[str]) -> Tensor:
        """Per-name logits ``(B, T, 4h, 4w)`` (``h x w`` the CLIP grid)."""
        return self.decode_head(self.head_inputs(inputs, names))

    def _forward(self, inputs: Tensor, data_samples=None) -> Tensor:
        names = self.train_names if self.training else self.test_names
        return self.logits(inputs, names)

    def loss(self, inputs: Tensor, data_samples: List[SegDataSample]) -> Dict[str, Tensor]:
        """One-hot BCE of the training vocabulary's logits against the labels."""
        if len(self.train_names) != int(self.train_index.max()) + 1:
            raise ConfigError('training vocabularies must name one class per entry (no '
                              "'; ' synonym groups): labels index the entries")
        losses = self.decode_head.loss(self.head_inputs(inputs, self.train_names),
                                       data_samples, self.train_cfg)
        return add_prefix(losses, 'decode')

    # ------------------------------------------------------------------ inference
    def encode_decode(self, inputs: Tensor, batch_img_metas: Optional[List[dict]] = None
                      ) -> Tensor:
        """Sigmoid scores ``(B, T, h, w)`` of every name for one crop, at the crop's size."""
        out = self.logits(inputs, self.test_names)
        return resize(out, size=inputs.shape[-2:], mode='bilinear',
                      align_corners=self.align_corners).sigmoid()

    def slide_inference(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Name scores ``(B, T, *out_size)``: mmseg's sliding windows over the image resized
        to ``out_size``, averaged with the global view."""
        cfg = self.test_cfg
        img = F.interpolate(inputs, size=cfg.out_size, mode='bilinear', align_corners=False)
        scores = super().slide_inference(img, batch_img_metas)
        if cfg.global_view:
            glob = F.interpolate(inputs, size=cfg.crop_size, mode='bilinear',
                                 align_corners=False)
            glob = F.interpolate(self.encode_decode(glob), size=cfg.out_size, mode='bilinear',
                                 align_corners=False)
            scores = (scores + glob) / 2
        return scores

    def whole_inference(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Name scores ``(B, T, 4h, 4w)`` of the image at the CLIP resolution."""
        return self.logits(inputs, self.test_names).sigmoid()

    def inference(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Class scores ``(B, C, h', w')`` (synonym entries reduced by max), at ``out_size``
        (slide) or the head's size (whole); ``postprocess_result`` resizes them once."""
        for meta in batch_img_metas:
            if any(meta.get('img_padding_size', meta.get('padding_size', [0] * 4))):
                raise ConfigError('DeCLIPCATSeg resizes the whole test image (as CAT-Seg does); '
                                  'remove test-time padding (data_preprocessor.test_cfg)')
        scores = super().inference(inputs, batch_img_metas)
        return reduce_synonyms(scores, self.test_index, len(self.test_entries))

    def predict(self, inputs: Tensor, data_samples: Optional[List[SegDataSample]] = None
                ) -> List[SegDataSample]:
        """mmseg's predict; bare tensors get samples whose original size is the input's
        (mmseg resizes only samples that carry one)."""
        if data_samples is None:
            shape = tuple(inputs.shape[-2:])
            data_samples = [SegDataSample(metainfo=dict(ori_shape=shape, img_shape=shape,
                                                        pad_shape=shape))
                            for _ in range(inputs.shape[0])]
        return super().predict(inputs, data_samples)

    def postprocess_result(self, seg_logits: Tensor,
                           data_samples: Optional[List[SegDataSample]] = None
                           ) -> List[SegDataSample]:
        """mmseg's, except that one class is not a binary map (these are scores already)."""
        return postprocess_scores(super().postprocess_result, seg_logits, data_samples)
