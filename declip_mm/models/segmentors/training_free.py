"""Training-free open-vocabulary segmentation with the DeCLIP content map.

Every location of the decoupled dense map (``DeCLIPViT.encode_dense``, csa mode) is compared
with class text embeddings (80 ImageNet templates averaged, one embedding per synonym); the
logits ``scale * cos`` go through a softmax over all synonyms, a class takes the max over its
synonyms, and pixels whose top probability is below ``prob_thd`` become the background class.
Inference slides 336-pixel crops with stride 112 over the (short side 448) image, each crop
centre-padded to the patch size; the averaged logits are upsampled to the original image.

This follows the ZSSS branch of xiaomoguhz/DeCLIP and the SCLIP / ClearCLIP harness it shares
(DECLIP_METHOD.md section 6, PEERS.md section 5), on mmseg's ``EncoderDecoder`` machinery:
its ``predict`` -> ``inference`` (slide / whole) -> ``postprocess_result`` (un-pad, un-flip,
resize to the original size) run unchanged on the cosine logits; this class supplies the
per-crop ``encode_decode`` and turns the restored logits into class probabilities.
"""
from types import SimpleNamespace
from typing import Dict, List, Optional, Sequence, Union

import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.structures import PixelData
from mmseg.models.segmentors import BaseSegmentor, EncoderDecoder
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch import Tensor

from ...checkpoint.model_loading import StrictPretrainedInit
from ...utils.errors import ConfigError
from ...utils.image_norm import CLIP_MEAN, CLIP_STD
from ...vocab import resolve_vocabulary
from .clip_weights import accept_clip_checkpoints
from .dataset_meta import VocabularyMeta
from .seg_utils import (center_pad_to_multiple, cosine_logits, postprocess_scores,
                        reduce_synonyms, threshold_background)


def clip_data_preprocessor(**kwargs) -> dict:
    """mmseg ``SegDataPreProcessor`` config with CLIP's pixel mean / std (RGB)."""
    return dict(type='SegDataPreProcessor', mean=list(CLIP_MEAN), std=list(CLIP_STD),
                bgr_to_rgb=True, **kwargs)


@MODELS.register_module()
class DeCLIPTrainingFreeSegmentor(StrictPretrainedInit, VocabularyMeta, EncoderDecoder):
    """Zero-shot semantic segmentation from the DeCLIP dense map (no training).

    An ``EncoderDecoder`` without a decode head: the classifier is the text tower, so
    ``EncoderDecoder.__init__`` (which builds and asserts a decode head) is not run; everything
    after construction is mmseg's (``predict``, ``inference``, ``slide_inference``,
    ``whole_inference``, ``postprocess_result``).

    Args:
        backbone: ``DeCLIPViT`` config (``mode='csa'``; the ZSSS branch scales the decoupled
            attention: ``attn_scale='head_dim'``).
        text_encoder: ``DeCLIPTextEncoder`` config (``templates='imagenet'``: 80 templates).
        class_names: builtin class file name (``'voc21'``), a ``.txt`` path, or a list; one
            entry per dataset class, synonyms separated by ``'; '``.
        logit_scale: multiplies the cosine similarities before the softmax (40; 80 for VOC21).
        prob_thd: pixels whose top class probability is below this become ``bg_idx``
            (VOC21 0.4, Context60 0.15, COCO-Object 0.2; 0 disables).
        bg_idx: the background class index used by ``prob_thd``.
        slide_crop / slide_stride: sliding-window crop and stride (pixels), i.e. mmseg's
            ``test_cfg=dict(mode='slide', crop_size=(c, c), stride=(s, s))``; ``slide_crop=0``
            is ``mode='whole'``.
        data_preprocessor: defaults to CLIP mean / std, BGR -> RGB.
        train_cfg / pretrained: accepted for mmseg's ``init_model`` (which sets both to None);
            anything else is an error (weights come from ``init_cfg`` or the checkpoint).
    """

    def __init__(self,
                 backbone: dict,
                 text_encoder: dict,
                 class_names: Union[str, Sequence[str]],
                 logit_scale: float = 40.0,
                 prob_thd: float = 0.0,
                 bg_idx: int = 0,
                 slide_crop: int = 336,
                 slide_stride: int = 112,
                 train_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None):
        if train_cfg is not None or pretrained is not None:
            raise ConfigError('DeCLIPTrainingFreeSegmentor takes no train_cfg / pretrained: '
                              'load weights with init_cfg or the checkpoint argument')
        BaseSegmentor.__init__(self, data_preprocessor=data_preprocessor
                               or clip_data_preprocessor(), init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.text_encoder = MODELS.build(text_encoder)
        self.logit_scale, self.prob_thd, self.bg_idx = float(logit_scale), float(prob_thd), bg_idx
        if slide_crop > 0 and slide_stride <= 0:
            raise ConfigError(f'slide_stride must be positive, got {slide_stride}')
        self.slide_crop, self.slide_stride = int(slide_crop), int(slide_stride)
        self.train_cfg = None
        self.align_corners = False
        self.set_vocabulary(class_names)
        accept_clip_checkpoints(self)

    # ------------------------------------------------------------------ vocabulary
    def set_vocabulary(self, class_names: Union[str, Sequence[str]]) -> None:
        """Replace the classes (any vocabulary at test time; synonyms with ``'; '``)."""
        names = resolve_vocabulary(class_names)
        if not 0 <= self.bg_idx < len(names):
            raise ConfigError(f'bg_idx {self.bg_idx} is outside the {len(names)} classes')
        self.class_names = names

    @property
    def vocabulary(self) -> List[str]:
        """One entry per output class (``VocabularyMeta``)."""
        return self.class_names

    @property
    def out_channels(self) -> int:
        """Channels of ``encode_decode``: one cosine map per synonym (S)."""
        return len(self.text_embeddings()[1])

    @property
    def decode_head(self) -> SimpleNamespace:
        """What mmseg's tools read from a decode head, answered from the vocabulary.

        mmseg's ``init_model`` reads ``decode_head.num_classes`` when a checkpoint holds no
        class metadata; the text tower is this segmentor's classifier, and it has no weights
        of a head to hold.
        """
        return SimpleNamespace(num_classes=self.num_classes, out_channels=self.out_channels,
                               align_corners=self.align_corners)

    @property
    def test_cfg(self) -> ConfigDict:
        """mmseg's inference settings, from ``slide_crop`` / ``slide_stride``."""
        if self.slide_crop <= 0:
            return ConfigDict(mode='whole')
        return ConfigDict(mode='slide', crop_size=(self.slide_crop,) * 2,
                          stride=(self.slide_stride,) * 2)

    def text_embeddings(self):
        """``(S, D)`` synonym embeddings and ``(S,)`` their class indices (the encoder caches)."""
        return self.text_encoder.encode_vocabulary(self.class_names)

    # ------------------------------------------------------------------ network
    def extract_feat(self, inputs: Tensor) -> Tensor:
        """Normalised DeCLIP content map ``(B, D, H/p, W/p)``."""
        return self.backbone.encode_dense(inputs, normalize=True)

    def encode_decode(self, inputs: Tensor, batch_img_metas: Optional[List[dict]] = None
                      ) -> Tensor:
        """Cosine logits ``(B, S, h, w)`` of one crop (or whole image), at its pixel size.

        The crop is centre-padded to the patch size, the token map upsampled bilinearly to the
        padded size and the padding cut off again.
        """
        text = self.text_embeddings()[0].to(inputs.device, inputs.dtype)
        h, w = inputs.shape[-2:]
        padded, (left, _, top, _) = center_pad_to_multiple(inputs, self.backbone.patch_size)
        logits = cosine_logits(self.extract_feat(padded), text)
        logits = F.interpolate(logits, size=padded.shape[-2:], mode='bilinear',
                               align_corners=False)
        return logits[:, :, top:top + h, left:left + w]

    def class_probabilities(self, logits: Tensor) -> Tensor:
        """``(B, S, H, W)`` cosine logits -> ``(B, C, H, W)`` class probabilities."""
        probs = (logits * self.logit_scale).softmax(dim=1)
        return reduce_synonyms(probs, self.text_embeddings()[1], len(self.class_names))

    def _forward(self, inputs: Tensor, data_samples=None) -> Tensor:
        """Cosine logits ``(B, S, H, W)`` of every synonym at the input size."""
        return self.inference(inputs, [{'ori_shape': inputs.shape[-2:]}] * inputs.shape[0])

    def postprocess_result(self, seg_logits: Tensor,
                           data_samples: Optional[List[SegDataSample]] = None
                           ) -> List[SegDataSample]:
        """mmseg's un-pad / un-flip / resize of the ``(B, S, H, W)`` cosine logits, then scores.

        Each sample gets ``seg_logits`` (``(C, H0, W0)`` class probabilities) and
        ``pred_sem_seg`` (``(1, H0, W0)`` labels after the background threshold).
        """
        samples = postprocess_scores(super().postprocess_result, seg_logits, data_samples)
        for sample in samples:
            probs = self.class_probabilities(sample.seg_logits.data[None])
            pred = threshold_background(probs, self.prob_thd, self.bg_idx)
            sample.set_data(dict(seg_logits=PixelData(data=probs[0]),
                                 pred_sem_seg=PixelData(data=pred[0])))
        return samples

    def loss(self, inputs: Tensor, data_samples: List[SegDataSample]) -> Dict[str, Tensor]:
        """Training-free: there is nothing to train."""
        raise ConfigError('DeCLIPTrainingFreeSegmentor has no trainable part: evaluate it with '
                          'tools/test.py CONFIG DECLIP_CHECKPOINT')
