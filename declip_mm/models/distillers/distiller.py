"""DeCLIPDistiller: the DeCLIP distillation model (student, frozen CLIP teacher, frozen VFM).

One training step (``loss`` mode), for a batch of images with grid pseudo-regions:

1. student (a ``DeCLIPViT`` in a decoupled mode) on the 560 px view ->
   content map (un-normalised) and context maps (``encode_dense_with_context``);
2. content: RoIAlign 1x1 of each region on the content map vs the frozen original CLIP's CLS
   embedding of the region's crop (``encode_image``), ``DeCLIPContentLoss``;
3. context: the VFM's patch-token similarity on its own view vs the student's context
   similarity, ``DeCLIPContextLoss``.

The content teacher is a frozen copy of the student's initial weights (``init_weights`` copies
them after the student has loaded its ``init_cfg`` checkpoint), run through the plain CLIP
tower. ``predict`` mode classifies ground-truth regions with the student (validation on COCO
panoptic, ``evaluation/region_cls``) when a ``val_classifier`` is configured.
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModel
from torch import Tensor, nn

from ...registry import MODELS
from ...utils.errors import ConfigError
from ..layers.decoupled_attention import DECOUPLED_MODES
from .freezing import apply_distill_freezing
from .losses import roi_features


def copy_weights(src: nn.Module, dst: nn.Module) -> None:
    """Copy ``src``'s state into ``dst`` (same architecture), adopting differing shapes.

    A student that loaded a checkpoint with another position-embedding grid has a parameter
    of another shape; the copy gives the teacher the same shape.
    """
    own = dict(dst.named_parameters())
    state = src.state_dict()
    for name, value in state.items():
        if name in own and own[name].shape != value.shape:
            own[name].data = torch.empty_like(value)
    dst.load_state_dict(state, strict=True)


@MODELS.register_module()
class DeCLIPDistiller(BaseModel):
    """DeCLIP distillation (content self-distillation + VFM context distillation).

    Args:
        student: ``DeCLIPViT`` config (``type`` may be omitted) in a decoupled mode (``qq`` as
            the official training, ``csa`` as the released checkpoints, ``kk``, ``vv``, ``all``).
            Its ``init_cfg`` loads the original CLIP weights.
        vfm: context-teacher config, e.g. ``dict(type='DeCLIPDINOv2Teacher', arch='vitb14_reg',
            checkpoint=...)``.
        content_loss, context_loss: loss configs (weights 1.0 / 0.1 by default).
        frozen_student_params: fnmatch patterns of student parameters to freeze; None applies
            the official list (``freezing.official_frozen_names``).
        val_classifier: optional ``DeCLIPRegionTextClassifier`` config for validation.
        data_preprocessor: defaults to ``DeCLIPDistillDataPreprocessor``.
    """

    def __init__(self,
                 student: dict,
                 vfm: dict,
                 content_loss: dict = dict(type='DeCLIPContentLoss', loss_weight=1.0),
                 context_loss: dict = dict(type='DeCLIPContextLoss', loss_weight=0.1),
                 frozen_student_params: Optional[Sequence[str]] = None,
                 val_classifier: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor or
                         dict(type='DeCLIPDistillDataPreprocessor'), init_cfg=init_cfg)
        student_cfg = dict(copy.deepcopy(student))
        student_cfg.setdefault('type', 'DeCLIPViT')
        self.student = MODELS.build(student_cfg)
        if self.student.mode not in DECOUPLED_MODES:
            raise ConfigError(f'DeCLIPDistiller: the student needs a decoupled mode '
                              f'{DECOUPLED_MODES}, got {self.student.mode!r}')
        teacher_cfg = dict(student_cfg, mode='vanilla', frozen=True, trainable=None,
                           with_cp=False, init_cfg=None)
        self.teacher = MODELS.build(teacher_cfg)
        self.vfm = MODELS.build(copy.deepcopy(vfm))
        self.content_loss = MODELS.build(content_loss)
        self.context_loss = MODELS.build(context_loss)
        self.val_classifier = MODELS.build(val_classifier) if val_classifier else None
        self.frozen_student_params = apply_distill_freezing(self.student, frozen_student_params)

    def init_weights(self) -> None:
        """Initialise the student (its checkpoint) and the VFM, then copy the student into the
        content teacher, so the teacher is the original CLIP whatever the student's source."""
        super().init_weights()
        copy_weights(self.student, self.teacher)
        self.teacher.requires_grad_(False)

    # ------------------------------------------------------------------ pieces
    def student_features(self, images: Tensor) -> Tuple[Tensor, Tuple[Tensor, ...]]:
        """Student content map ``(B, D, H, W)`` (un-normalised) and context maps."""
        return self.student.encode_dense_with_context(images, normalize=False)

    @torch.no_grad()
    def teacher_targets(self, crops: Tensor, vfm_images: Tensor,
                        data_samples: Optional[Sequence] = None) -> Tuple[Tensor, Tensor]:
        """Crop CLS embeddings ``(N, D)`` (normalised) and VFM tokens ``(B, C', h, w)``.

        A context teacher with ``needs_data_samples`` (the proving ground's ground-truth
        teacher, ``gt_teacher``) also gets the batch's data samples."""
        crop_emb = self.teacher.encode_image(crops, normalize=True) if len(crops) else \
            crops.new_zeros((0, self.student.embed_dim))
        if getattr(self.vfm, 'needs_data_samples', False):
            return crop_emb, self.vfm(vfm_images, data_samples)
        return crop_emb, self.vfm(vfm_images)

    @staticmethod
    def region_boxes(data_samples: Sequence) -> List[Tensor]:
        return [ds.boxes for ds in data_samples]

    # ------------------------------------------------------------------ modes
    def loss(self, inputs: Dict[str, Tensor], data_samples: Sequence) -> Dict[str, Tensor]:
        """Both distillation losses for a packed, preprocessed batch."""
        boxes = self.region_boxes(data_samples)
        if sum(len(b) for b in boxes) != len(inputs['crops']):
            raise ValueError(f'{sum(len(b) for b in boxes)} regions but {len(inputs["crops"])} '
                             'crops in the batch')
        dense, contexts = self.student_features(inputs['student'])
        crop_emb, vfm_tokens = self.teacher_targets(inputs['crops'], inputs['vfm'],
                                                     data_samples)
        regions = roi_features(dense, boxes)
        return dict(loss_content=self.content_loss(regions, crop_emb),
                    loss_context=self.context_loss(vfm_tokens, contexts))

    def predict(self, inputs: Tensor, data_samples: Sequence) -> list:
        """Region classification of ground-truth boxes / masks (and crops, if the samples carry
        them) with the student, in its own mode: the inference mode of its training mode
        (``qq`` for qq_vfm_distill, ``csa`` for csa_vfm_distill, ...). During training,
        ``DeCLIPEnsembleCheckpointHook`` has put the ensembled weights in the student."""
        if self.val_classifier is None:
            raise ConfigError('DeCLIPDistiller: validation needs "val_classifier" '
                              '(a DeCLIPRegionTextClassifier config)')
        from ...evaluation.region_cls.crop_classifier import classify_crops
        dense = self.student.encode_dense(inputs, normalize=False)
        samples = self.val_classifier.predict(dense, data_samples)
        emb = self.val_classifier.class_embeddings(dense.device)
        return classify_crops(self.student, emb, samples, self.val_classifier.topk)

    def forward(self, inputs: Union[Dict[str, Tensor], Tensor],
                data_samples: Optional[Sequence] = None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            images = inputs['student'] if isinstance(inputs, dict) else inputs
            return self.student_features(images)
        raise ValueError(f'DeCLIPDistiller: unknown mode {mode!r}')
