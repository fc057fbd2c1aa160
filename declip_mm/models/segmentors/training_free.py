"""Training-free open-vocabulary segmentation with the DeCLIP content map.

Every location of the decoupled dense map (``DeCLIPViT.encode_dense``, csa mode) is compared
with class text embeddings (80 ImageNet templates averaged, one embedding per synonym); the
logits ``scale * cos`` go through a softmax over all synonyms, a class takes the max over its
synonyms, and pixels whose top probability is below ``prob_thd`` become the background class.
Inference slides 336-pixel crops with stride 112 over the (short side 448) image, each crop
centre-padded to the patch size; the averaged logits are upsampled to the original image.

This follows the ZSSS branch of xiaomoguhz/DeCLIP and the SCLIP / ClearCLIP harness it shares
(DECLIP_METHOD.md section 6, PEERS.md section 5): written anew here on mmseg's ``BaseSegmentor``.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.models.segmentors import BaseSegmentor
from torch import Tensor

from ...utils.errors import ConfigError
from ...utils.image_norm import CLIP_MEAN, CLIP_STD
from ...vocab import resolve_vocabulary
from .clip_weights import accept_clip_checkpoints
from .seg_utils import (center_pad_to_multiple, cosine_logits, default_metas, reduce_synonyms,
                        restore_to_original, slide_inference, threshold_background)


def clip_data_preprocessor(**kwargs) -> dict:
    """mmseg ``SegDataPreProcessor`` config with CLIP's pixel mean / std (RGB)."""
    return dict(type='SegDataPreProcessor', mean=list(CLIP_MEAN), std=list(CLIP_STD),
                bgr_to_rgb=True, **kwargs)


@MODELS.register_module()
class DeCLIPTrainingFreeSegmentor(BaseSegmentor):
    """Zero-shot semantic segmentation from the DeCLIP dense map (no training).

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
        slide_crop / slide_stride: sliding-window crop and stride (pixels); ``slide_crop=0``
            runs the whole image at once.
        data_preprocessor: defaults to CLIP mean / std, BGR -> RGB.
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
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor or clip_data_preprocessor(),
                         init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.text_encoder = MODELS.build(text_encoder)
        self.logit_scale, self.prob_thd, self.bg_idx = float(logit_scale), float(prob_thd), bg_idx
        if slide_crop > 0 and slide_stride <= 0:
            raise ConfigError(f'slide_stride must be positive, got {slide_stride}')
        self.slide_crop, self.slide_stride = int(slide_crop), int(slide_stride)
        self.align_corners = False
        self.set_vocabulary(class_names)
        accept_clip_checkpoints(self)

    # ------------------------------------------------------------------ vocabulary
    def set_vocabulary(self, class_names: Union[str, Sequence[str]]) -> None:
        """Replace the classes (any vocabulary at test time; synonyms with ``'; '``)."""
        self.class_names = resolve_vocabulary(class_names)
        if not 0 <= self.bg_idx < len(self.class_names):
            raise ConfigError(f'bg_idx {self.bg_idx} is outside the '
                              f'{len(self.class_names)} classes')

    def text_embeddings(self) -> Tuple[Tensor, Tensor]:
        """``(S, D)`` synonym embeddings and ``(S,)`` their class indices (the encoder caches)."""
        return self.text_encoder.encode_vocabulary(self.class_names)

    # ------------------------------------------------------------------ network
    def extract_feat(self, inputs: Tensor) -> Tensor:
        """Normalised DeCLIP content map ``(B, D, H/p, W/p)``."""
        return self.backbone.encode_dense(inputs, normalize=True)

    def crop_logits(self, crop: Tensor, text: Tensor) -> Tensor:
        """Cosine logits ``(B, S, h, w)`` of one crop, at the crop's pixel size.

        The crop is centre-padded to the patch size, the token map upsampled bilinearly to the
        padded size and the padding cut off again.
        """
        h, w = crop.shape[-2:]
        padded, (left, _, top, _) = center_pad_to_multiple(crop, self.backbone.patch_size)
        logits = cosine_logits(self.extract_feat(padded), text)
        logits = F.interpolate(logits, size=padded.shape[-2:], mode='bilinear',
                               align_corners=False)
        return logits[:, :, top:top + h, left:left + w]

    def synonym_logits(self, inputs: Tensor) -> Tensor:
        """Cosine logits ``(B, S, H, W)`` of every synonym at the input size."""
        text, _ = self.text_embeddings()
        text = text.to(inputs.device, inputs.dtype)
        fn = lambda crop: self.crop_logits(crop, text)  # noqa: E731
        if self.slide_crop > 0:
            return slide_inference(inputs, self.slide_crop, self.slide_stride, fn)
        return fn(inputs)

    def class_probabilities(self, logits: Tensor) -> Tensor:
        """``(B, S, H, W)`` cosine logits -> ``(B, C, H, W)`` class probabilities."""
        _, index = self.text_embeddings()
        probs = (logits * self.logit_scale).softmax(dim=1)
        return reduce_synonyms(probs, index, len(self.class_names))

    def encode_decode(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Class probabilities ``(B, C, H, W)`` at the input size."""
        return self.class_probabilities(self.synonym_logits(inputs))

    def _forward(self, inputs: Tensor, data_samples=None) -> Tensor:
        return self.synonym_logits(inputs)

    # ------------------------------------------------------------------ mmseg API
    @torch.no_grad()
    def predict(self, inputs: Tensor, data_samples: Optional[List[SegDataSample]] = None
                ) -> List[SegDataSample]:
        """Segment ``inputs`` ``(B, 3, H, W)``; results at each image's original size.

        Each returned sample holds ``seg_logits`` (``(C, H0, W0)`` class probabilities) and
        ``pred_sem_seg`` (``(1, H0, W0)`` labels after the background threshold).
        """
        metas = ([s.metainfo for s in data_samples] if data_samples is not None
                 else default_metas(inputs))
        if data_samples is None:
            data_samples = [SegDataSample() for _ in range(inputs.shape[0])]
        for i, meta in enumerate(metas):
            logits = self.synonym_logits(inputs[i:i + 1])
            logits = restore_to_original(logits, meta, self.align_corners)
            probs = self.class_probabilities(logits)
            pred = threshold_background(probs, self.prob_thd, self.bg_idx)
            data_samples[i].set_data(dict(seg_logits=PixelData(data=probs[0]),
                                          pred_sem_seg=PixelData(data=pred[0])))
        return data_samples

    def loss(self, inputs: Tensor, data_samples: List[SegDataSample]) -> Dict[str, Tensor]:
        """Training-free: there is nothing to train."""
        raise ConfigError('DeCLIPTrainingFreeSegmentor has no trainable part: evaluate it with '
                          'tools/test.py CONFIG DECLIP_CHECKPOINT')
