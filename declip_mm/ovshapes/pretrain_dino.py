"""DINO-style self-distillation of the OV-Shapes stand-in VFM (``pretrain_vfm``, method 'dino').

A student ViT and its teacher, an exponential moving average (EMA) of the student, each end in
a projection head that maps a token to ``K`` prototype logits. Every scene gives several views
(``multi_crop``): 2 global crops (a random resized crop of 35-100% of the area, at 64 px) and
a few local ones (8-35%, at 32 px), each flipped at random and jittered mildly in brightness
and contrast (never in hue: a shape's colour is half of its class). The teacher sees the
global views; the student sees all of them. The CLS loss (``dino_loss``) is the cross-entropy
between the teacher's sharpened, centred distribution of one global view and the student's
distribution of every other view. Centring (``update_center``: a running mean of the teacher's
logits, subtracted before its softmax) and sharpening (a low teacher temperature) together
keep the outputs from collapsing.

An optional patch term (iBOT-style, ``patch_weight > 0``): the student's global views have a
random share of their patches replaced by a learnt mask token, and each masked patch's output
must predict the teacher's distribution for that patch of the unmasked view (``patch_loss``,
with its own centre). It trains the patch tokens, whose affinities the distiller uses.

The saved network is the EMA teacher's backbone (heads and mask token dropped). Inputs are
ImageNet-normalised, as ``DeCLIPDistillDataPreprocessor`` normalises the VFM view.
"""
import copy
import math
from typing import TYPE_CHECKING, List, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.ops import roi_align

from ..datasets.ov_shapes.arch import OV_SHAPES_VFM_OVERRIDES
from ..utils.image_norm import IMAGENET_MEAN, IMAGENET_STD
from .vfm_training import build_vfm, encode, make_optimizer, normalise, run_steps, warmup_cosine

if TYPE_CHECKING:
    from .pretrain_vfm import PretrainVfmOptions

GLOBAL_SIZE, GLOBAL_SCALE = 64, (0.35, 1.0)
LOCAL_SIZE, LOCAL_SCALE = 32, (0.08, 0.35)
ASPECT = (3 / 4, 4 / 3)
JITTER = 0.2
"""Brightness and contrast factors are drawn from ``1 +- JITTER``."""


def sample_boxes(n: int, height: int, width: int, scale: Tuple[float, float],
                 generator: torch.Generator, ratio: Tuple[float, float] = ASPECT) -> Tensor:
    """Random resized crop boxes ``(n, 4)`` ``(x1, y1, x2, y2)`` in pixels: area share uniform
    in ``scale``, aspect ratio log-uniform in ``ratio``, clipped to the image, position
    uniform."""
    area = torch.empty(n).uniform_(*scale, generator=generator) * height * width
    log_r = torch.empty(n).uniform_(math.log(ratio[0]), math.log(ratio[1]), generator=generator)
    w = (area * log_r.exp()).sqrt().clamp(max=width)
    h = (area / log_r.exp()).sqrt().clamp(max=height)
    x1 = torch.rand(n, generator=generator) * (width - w)
    y1 = torch.rand(n, generator=generator) * (height - h)
    return torch.stack([x1, y1, x1 + w, y1 + h], 1)


def crop_resize(images: Tensor, boxes: Tensor, size: int) -> Tensor:
    """Bilinear crop of box ``i`` ``(x1, y1, x2, y2)`` of image ``i`` ``(B, 3, H, W)`` float,
    resized to ``(B, 3, size, size)`` (``torchvision.ops.roi_align``, 2 x 2 samples a bin)."""
    rois = torch.cat([torch.arange(len(boxes), dtype=boxes.dtype).unsqueeze(1), boxes], 1)
    return roi_align(images, rois.to(images), size, 1.0, sampling_ratio=2, aligned=True)


def flip_and_jitter(x: Tensor, generator: torch.Generator, jitter: float = JITTER) -> Tensor:
    """Per image of ``x`` ``(B, 3, H, W)`` (0..255): horizontal flip with chance 1/2, contrast
    (a blend with the image's mean grey) and brightness (a gain), factors uniform in
    ``1 +- jitter``; clipped to 0..255."""
    b = len(x)
    flip = torch.rand(b, generator=generator) < 0.5
    contrast = torch.empty(b).uniform_(1 - jitter, 1 + jitter, generator=generator)
    brightness = torch.empty(b).uniform_(1 - jitter, 1 + jitter, generator=generator)
    x = torch.where(flip.view(b, 1, 1, 1), x.flip(-1), x)
    grey = x.mean((1, 2, 3), keepdim=True)
    x = (x - grey) * contrast.view(b, 1, 1, 1) + grey
    return (x * brightness.view(b, 1, 1, 1)).clamp(0, 255)


def multi_crop(images: Tensor, local_crops: int,
               generator: torch.Generator) -> Tuple[List[Tensor], List[Tensor]]:
    """The views of a batch ``(B, 3, H, W)`` uint8 RGB: 2 global ``(B, 3, 64, 64)`` and
    ``local_crops`` local ``(B, 3, 32, 32)`` views, ImageNet-normalised."""
    x = images.float()
    b, _, h, w = x.shape

    def views(count, scale, size):
        return [normalise(flip_and_jitter(crop_resize(
            x, sample_boxes(b, h, w, scale, generator), size), generator),
            IMAGENET_MEAN, IMAGENET_STD) for _ in range(count)]
    return views(2, GLOBAL_SCALE, GLOBAL_SIZE), views(local_crops, LOCAL_SCALE, LOCAL_SIZE)


class DINOHead(nn.Module):
    """Projection head: MLP (``dim -> hidden -> hidden -> bottleneck``, GELU), L2 normalisation,
    then a weight-normalised linear layer without bias to ``out_dim`` prototype logits."""

    def __init__(self, dim: int, out_dim: int, hidden: int = 256, bottleneck: int = 64):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, hidden),
                                 nn.GELU(), nn.Linear(hidden, bottleneck))
        self.last = nn.utils.parametrizations.weight_norm(
            nn.Linear(bottleneck, out_dim, bias=False))
        g = self.last.parametrizations.weight.original0
        g.data.fill_(1.0)
        g.requires_grad_(False)                      # unit-norm prototypes, kept so

    def forward(self, x: Tensor) -> Tensor:
        """``(..., dim)`` -> ``(..., out_dim)``."""
        return self.last(F.normalize(self.mlp(x), dim=-1))


def soft_cross_entropy(teacher: Tensor, student: Tensor, center: Tensor, teacher_temp: float,
                       student_temp: float) -> Tensor:
    """``-sum_k p_k log q_k`` per row, ``p = softmax((teacher - center) / teacher_temp)``,
    ``q = softmax(student / student_temp)``; ``(..., K)`` logits -> ``(...)``."""
    p = F.softmax((teacher - center) / teacher_temp, dim=-1)
    return -(p * F.log_softmax(student / student_temp, dim=-1)).sum(-1)


def dino_loss(student: Sequence[Tensor], teacher: Sequence[Tensor], center: Tensor,
              teacher_temp: float, student_temp: float) -> Tensor:
    """The multi-crop CLS loss: mean over the pairs (teacher view ``i``, student view
    ``j != i``) and the batch of the soft cross-entropy.

    Args:
        student: ``V_s`` tensors ``(B, K)``, the student's logits of every view, the teacher's
            views first in the same order.
        teacher: ``V_t`` tensors ``(B, K)``, the teacher's logits of the global views.
        center: ``(K,)`` the teacher's centre.
    """
    terms = [soft_cross_entropy(t.detach(), s, center, teacher_temp, student_temp).mean()
             for i, t in enumerate(teacher) for j, s in enumerate(student) if i != j]
    return torch.stack(terms).mean()


def patch_loss(student: Tensor, teacher: Tensor, mask: Tensor, center: Tensor,
               teacher_temp: float, student_temp: float) -> Tensor:
    """The masked patch term: the soft cross-entropy of each masked patch, averaged over the
    masked patches. ``student``, ``teacher`` ``(B, N, K)`` logits of the same view (the
    student's masked); ``mask`` ``(B, N)`` bool; ``center`` ``(K,)``."""
    ce = soft_cross_entropy(teacher.detach(), student, center, teacher_temp, student_temp)
    return (ce * mask).sum() / mask.sum().clamp(min=1)


@torch.no_grad()
def update_center(center: Tensor, teacher: Tensor, momentum: float) -> Tensor:
    """The new centre ``momentum * center + (1 - momentum) * mean``, the mean of the teacher's
    logits ``(..., K)`` over all leading dims; ``center`` ``(K,)``."""
    return momentum * center + (1 - momentum) * teacher.reshape(-1, teacher.shape[-1]).mean(0)


def momentum_at(step: int, steps: int, base: float) -> float:
    """EMA momentum of 0-based ``step``: a half cosine from ``base`` at step 0 to 1 at
    ``steps - 1``."""
    return 1 - (1 - base) * 0.5 * (1 + math.cos(math.pi * step / max(steps - 1, 1)))


@torch.no_grad()
def ema_update(teacher: nn.Module, student: nn.Module, momentum: float) -> None:
    """``teacher <- momentum * teacher + (1 - momentum) * student``, parameter by parameter."""
    for t, s in zip(teacher.parameters(), student.parameters()):
        t.mul_(momentum).add_(s.detach(), alpha=1 - momentum)


def random_patch_masks(b: int, n: int, share: Tuple[float, float],
                       generator: torch.Generator) -> Tensor:
    """``(b, n)`` bool: image ``i`` masks ``round(r_i * n)`` random patches (at least one),
    ``r_i`` uniform in ``share``."""
    counts = (torch.empty(b).uniform_(*share, generator=generator) * n).round().clamp(min=1)
    ranks = torch.rand(b, n, generator=generator).argsort(1).argsort(1)
    return ranks < counts.unsqueeze(1)


class DINOStep:
    """One training step's forward and loss, holding the student, EMA teacher and centres."""

    def __init__(self, args: 'PretrainVfmOptions', images: Tensor):
        self.args, self.images = args, images
        self.gen = torch.Generator().manual_seed(args.seed)
        dim = OV_SHAPES_VFM_OVERRIDES['embed_dim']
        self.student = nn.ModuleDict(dict(backbone=build_vfm(), head=DINOHead(dim, args.out_dim)))
        self.student.to(args.device)
        self.teacher = copy.deepcopy(self.student).requires_grad_(False)
        self.mask_token = nn.Parameter(torch.zeros(dim, device=args.device))
        self.center = torch.zeros(args.out_dim, device=args.device)
        self.patch_center = torch.zeros(args.out_dim, device=args.device)

    def parameters(self) -> List[Tensor]:
        extra = [self.mask_token] if self.args.patch_weight > 0 else []
        return list(self.student.parameters()) + extra

    def loss(self, step: int) -> Tensor:
        """The loss of one batch (CLS term, plus the weighted patch term); updates the centres."""
        a = self.args
        idx = torch.randint(len(self.images), (a.batch_size,), generator=self.gen)
        glob, loc = multi_crop(self.images[idx], a.local_crops, self.gen)
        glob = torch.cat(glob).to(a.device)                          # (2B, 3, 64, 64)
        keep = None if a.patch_weight > 0 else 1                     # heads on CLS only
        with torch.no_grad():
            t_tok = encode(self.teacher['backbone'], glob)
            t_out = self.teacher['head'](t_tok[:, :keep])            # (2B, 1 [+ N], K)
        mask = None
        if a.patch_weight > 0:
            mask = random_patch_masks(len(glob), t_tok.shape[1] - 1, a.patch_mask,
                                      self.gen).to(a.device)
        s_tok = encode(self.student['backbone'], glob, mask, self.mask_token)
        s_glob = self.student['head'](s_tok[:, :keep])
        s_cls = list(s_glob[:, 0].chunk(2))
        if loc:
            s_loc = self.student['head'](encode(self.student['backbone'],
                                                torch.cat(loc).to(a.device))[:, 0])
            s_cls += list(s_loc.chunk(len(loc)))
        t_cls = t_out[:, 0]
        loss = dino_loss(s_cls, list(t_cls.chunk(2)), self.center, a.teacher_temp,
                         a.student_temp)
        self.center = update_center(self.center, t_cls, 0.9)
        if mask is not None:
            loss = loss + a.patch_weight * patch_loss(s_glob[:, 1:], t_out[:, 1:], mask,
                                                      self.patch_center, a.teacher_temp,
                                                      a.student_temp)
            self.patch_center = update_center(self.patch_center, t_out[:, 1:], 0.9)
        return loss

    def after_step(self, step: int) -> None:
        ema_update(self.teacher, self.student, momentum_at(step, self.args.steps,
                                                           self.args.momentum))


def pretrain_dino(args: 'PretrainVfmOptions', images: Tensor) -> nn.Module:
    """Train the stand-in by self-distillation on ``images`` ``(N, 3, 64, 64)`` uint8; returns
    the EMA teacher's backbone."""
    job = DINOStep(args, images)
    opt = make_optimizer(job.parameters(), args.lr, args.weight_decay)
    run_steps(job.loss, opt, args.steps,
              lambda s: warmup_cosine(s, args.steps, args.lr, args.warmup),
              clip_grad=3.0, after_step=job.after_step)
    return job.teacher['backbone'].eval()
