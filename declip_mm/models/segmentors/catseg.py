"""CAT-Seg (CVPR design) on a DeCLIP backbone, as an mmseg segmentor.

Pieces (all built from config): the DeCLIP image tower (``DeCLIPViT``, csa content map plus
two intermediate block maps as decoder guidance), the CAT-Seg text tower
(``DeCLIPCATSegTextEncoder``), the cost aggregator (neck, ``DeCLIPCATSegAggregator``) and the
upsampling decoder (decode head, ``DeCLIPCATSegHead``, one-hot BCE loss). Images are resized to
the CLIP resolution (384^2 for B/16, 336^2 for L/14: a 24x24 grid). Only the visual q / v
projection weights and the text in-projection weights of CLIP are trainable (set in the
backbone / text-encoder configs; their learning rate is scaled by ``paramwise_cfg``).

Inference (``test_cfg``): ``mode='slide'`` resizes the image to ``out_size`` x ``out_size``
(640), averages sigmoid scores over ``crop_size`` windows (384, stride 256 = overlap 1/3),
then averages with a global view (the whole image at ``crop_size``), as CAT-Seg's
``inference_sliding_window``; ``mode='whole'`` runs the image once at the CLIP resolution.
The vocabulary is free at test time (``test_class_names`` or ``set_vocabulary``); an entry with
``'; '`` synonyms scores its class by the max over them (CAT-Seg's VOC-21 background group).
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models.segmentors import BaseSegmentor
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import add_prefix
from torch import Tensor

from ...utils.errors import ConfigError
from ...vocab import resolve_vocabulary
from .clip_weights import accept_clip_checkpoints
from .seg_utils import (default_metas, reduce_synonyms, restore_to_original, slide_inference,
                        vocabulary_groups)
from .training_free import clip_data_preprocessor

DEFAULT_TEST_CFG = dict(mode='slide', crop_size=384, stride=256, out_size=640, global_view=True)


@MODELS.register_module()
class DeCLIPCATSeg(BaseSegmentor):
    """CAT-Seg with DeCLIP features.

    Args:
        backbone: ``DeCLIPViT`` config with ``out_indices`` = the two guidance blocks
            ((3, 7) for B/16, (7, 15) for L/14) and ``out_dense=True``.
        text_encoder: ``DeCLIPCATSegTextEncoder`` config.
        neck: ``DeCLIPCATSegAggregator`` config.
        decode_head: ``DeCLIPCATSegHead`` config.
        train_class_names: training vocabulary (builtin name, ``.txt`` path or list).
        test_class_names: inference vocabulary (defaults to the training one).
        first_synonym_only: encode only the first name of each entry (CAT-Seg's handling of
            alternative names, e.g. ADE-847); otherwise every synonym is a class of the cost
            volume and the entry takes their max.
        clip_resolution: CLIP input size (384, 384) / (336, 336).
        test_cfg: see the module docstring.
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
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor or clip_data_preprocessor(),
                         init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.text_encoder = MODELS.build(text_encoder)
        self.neck = MODELS.build(neck)
        self.decode_head = MODELS.build(decode_head)
        self.align_corners = self.decode_head.align_corners
        self.clip_resolution = tuple(int(s) for s in clip_resolution)
        self.first_synonym_only = first_synonym_only
        self.train_cfg = train_cfg
        self.test_cfg = dict(DEFAULT_TEST_CFG, **(test_cfg or {}))
        if self.test_cfg['mode'] not in ('slide', 'whole'):
            raise ConfigError("test_cfg.mode must be 'slide' or 'whole', "
                              f"got {self.test_cfg['mode']!r}")
        self.train_names, self.train_index = self._vocabulary(train_class_names)
        self.set_vocabulary(test_class_names if test_class_names is not None
                            else train_class_names)
        accept_clip_checkpoints(self)

    # ------------------------------------------------------------------ vocabulary
    def _vocabulary(self, spec) -> Tuple[List[str], Tensor]:
        return vocabulary_groups(resolve_vocabulary(spec), self.first_synonym_only)

    def set_vocabulary(self, class_names: Union[str, Sequence[str]]) -> None:
        """Replace the inference vocabulary (one entry per output class)."""
        self.test_entries = resolve_vocabulary(class_names)
        self.test_names, self.test_index = vocabulary_groups(self.test_entries,
                                                             self.first_synonym_only)

    # ------------------------------------------------------------------ network
    def extract_feat(self, inputs: Tensor) -> Tuple[Tuple[Tensor, ...], Tensor]:
        """Resize to the CLIP resolution and run the backbone.

        Returns:
            the guidance block maps ``(B, width, h, w)`` and the dense map ``(B, D, h, w)``.
        """
        x = inputs
        if tuple(x.shape[-2:]) != self.clip_resolution:
            x = F.interpolate(x, size=self.clip_resolution, mode='bilinear', align_corners=False)
        outs = self.backbone(x)
        return tuple(outs[:-1]), outs[-1]

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
    def _scores(self, crop: Tensor) -> Tensor:
        """Sigmoid scores ``(B, T, h, w)`` of a crop at the crop's size."""
        out = self.logits(crop, self.test_names)
        return resize(out, size=crop.shape[-2:], mode='bilinear',
                      align_corners=self.align_corners).sigmoid()

    def name_scores(self, inputs: Tensor) -> Tensor:
        """Sigmoid scores ``(B, T, H, W)`` of every vocabulary name at the input size."""
        cfg = self.test_cfg
        if cfg['mode'] == 'whole':
            return self._scores(inputs)
        size = (cfg['out_size'],) * 2
        img = F.interpolate(inputs, size=size, mode='bilinear', align_corners=False)
        scores = slide_inference(img, cfg['crop_size'], cfg['stride'], self._scores)
        if cfg.get('global_view', True):
            glob = F.interpolate(inputs, size=(cfg['crop_size'],) * 2, mode='bilinear',
                                 align_corners=False)
            glob = F.interpolate(self._scores(glob), size=size, mode='bilinear',
                                 align_corners=False)
            scores = (scores + glob) / 2
        return F.interpolate(scores, size=inputs.shape[-2:], mode='bilinear', align_corners=False)

    def encode_decode(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Class scores ``(B, C, H, W)`` at the input size (synonym entries reduced by max)."""
        return reduce_synonyms(self.name_scores(inputs), self.test_index, len(self.test_entries))

    @torch.no_grad()
    def predict(self, inputs: Tensor, data_samples: Optional[List[SegDataSample]] = None
                ) -> List[SegDataSample]:
        """Segment ``inputs``; ``seg_logits`` are class scores at the original size."""
        metas = ([s.metainfo for s in data_samples] if data_samples is not None
                 else default_metas(inputs))
        if data_samples is None:
            data_samples = [SegDataSample() for _ in range(inputs.shape[0])]
        for i, meta in enumerate(metas):
            scores = restore_to_original(self.encode_decode(inputs[i:i + 1], [meta]), meta,
                                         self.align_corners)
            data_samples[i].set_data(dict(
                seg_logits=PixelData(data=scores[0]),
                pred_sem_seg=PixelData(data=scores[0].argmax(dim=0, keepdim=True))))
        return data_samples
