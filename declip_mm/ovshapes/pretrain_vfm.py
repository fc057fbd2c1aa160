"""Pretrain the OV-Shapes stand-in vision foundation model (the distillation's context teacher).

No DINOv2 weights exist offline. This trains a tiny DINO-layout ViT (timm
``vit_base_patch8_224`` narrowed to width 96, 4 blocks, 3 heads; patch 8, so an 8 x 8 grid on
the 64 px scenes, the student's grid) self-supervised on the images of the ``clip`` split (no
captions are read), by one of two methods (``PretrainVfmOptions.method``):

* ``'simmim'``: masked image modelling (SimMIM): half of the patch embeddings are replaced by
  a learnt mask token, a linear head regresses the normalised pixels of the masked patches,
  L1 loss. Inputs in the CLIP normalisation (``OV_SHAPES_MEAN``), as the shipped
  ``tiny_vfm.pt`` was trained (the distiller feeds the VFM ImageNet-normalised images: a known
  mismatch, kept so the shipped file stays reproducible).
* ``'dino'``: self-distillation with multi-crop (``pretrain_dino``), optionally with an
  iBOT-style masked patch term. Inputs in the ImageNet normalisation the distiller's
  ``DeCLIPDistillDataPreprocessor`` gives the VFM view.

The shared pieces (model, data, optimiser, loop, save) are in ``vfm_training``. The file is
saved in the DINO layout, so the distiller loads it with::

    vfm=dict(type='DeCLIPDINOTeacher', arch='vitb8', checkpoint=TINY_VFM_CHECKPOINT,
             arch_overrides=OV_SHAPES_VFM_OVERRIDES)   # declip_mm.datasets.ov_shapes.arch

(``TINY_VFM_DINO_CHECKPOINT`` for the DINO one). Command line:
``tools/ovshapes/pretrain_vfm.py``.
"""
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..datasets.ov_shapes.arch import OV_SHAPES_MEAN, OV_SHAPES_STD, OV_SHAPES_VFM_OVERRIDES
from .vfm_training import (PATCH, build_vfm, clip_split_images, encode, make_optimizer,
                           normalise, run_steps, save_backbone, warmup_cosine)

METHODS = ('simmim', 'dino')
DEFAULT_OUT = {'simmim': 'work_dirs/ovshapes/tiny_vfm.pt',
               'dino': 'work_dirs/ovshapes/tiny_vfm_dino.pt'}


@dataclass
class PretrainVfmOptions:
    """The recipe's settings (``tools/ovshapes/pretrain_vfm.py --help``). The fields from
    ``local_crops`` on are DINO's; ``mask_ratio`` is SimMIM's."""
    out: Optional[str] = None            # None: DEFAULT_OUT[method]
    method: str = 'simmim'
    seed: int = 0
    scenes: int = 20000
    steps: int = 2000
    batch_size: int = 128
    lr: float = 1e-3
    mask_ratio: float = 0.5
    threads: int = 2
    device: str = 'cpu'
    local_crops: int = 4
    out_dim: int = 1024
    teacher_temp: float = 0.04
    student_temp: float = 0.1
    momentum: float = 0.995
    patch_weight: float = 1.0            # 0: plain DINO (CLS only); > 0: iBOT patch term
    patch_mask: tuple = (0.1, 0.5)       # range of each image's masked-patch share (iBOT)
    weight_decay: float = 0.04
    warmup: int = 100


def patch_targets(x: Tensor) -> Tensor:
    """``(B, 3, H, W)`` -> ``(B, h*w, 3*p*p)`` per-patch pixels, each patch normalised."""
    b, c, h, w = x.shape
    t = x.reshape(b, c, h // PATCH, PATCH, w // PATCH, PATCH).permute(0, 2, 4, 1, 3, 5)
    t = t.reshape(b, (h // PATCH) * (w // PATCH), c * PATCH * PATCH)
    return (t - t.mean(-1, keepdim=True)) / (t.var(-1, keepdim=True) + 1e-6).sqrt()


def masked_tokens(model: nn.Module, mask_token: Tensor, x: Tensor, mask: Tensor) -> Tensor:
    """Patch tokens ``(B, N, C)`` of ``x`` with the patches in ``mask`` ``(B, N)`` replaced by
    ``mask_token`` before the position embedding (SimMIM)."""
    return encode(model, x, mask, mask_token)[:, model.num_prefix_tokens:]


def pretrain_simmim(args: PretrainVfmOptions, images: Tensor) -> nn.Module:
    """Train the stand-in by masked image modelling on ``images`` ``(N, 3, 64, 64)`` uint8;
    returns the backbone."""
    gen = torch.Generator().manual_seed(args.seed)
    model = build_vfm().to(args.device)
    dim = OV_SHAPES_VFM_OVERRIDES['embed_dim']
    mask_token = nn.Parameter(torch.zeros(dim, device=args.device))
    head = nn.Linear(dim, 3 * PATCH * PATCH).to(args.device)
    opt = make_optimizer(list(model.parameters()) + [mask_token] + list(head.parameters()),
                         args.lr, 0.05, betas=(0.9, 0.95))

    def loss_fn(step: int) -> Tensor:
        idx = torch.randint(len(images), (args.batch_size,), generator=gen)
        x = normalise(images[idx], OV_SHAPES_MEAN, OV_SHAPES_STD)
        flip = torch.rand(len(idx), generator=gen) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x).to(args.device)
        n = (x.shape[-1] // PATCH) * (x.shape[-2] // PATCH)
        mask = (torch.rand(len(idx), n, generator=gen) < args.mask_ratio).to(args.device)
        pred = head(masked_tokens(model, mask_token, x, mask))
        return (F.l1_loss(pred, patch_targets(x), reduction='none').mean(-1) * mask).sum() \
            / mask.sum().clamp(min=1)

    run_steps(loss_fn, opt, args.steps, lambda s: warmup_cosine(s, args.steps, args.lr, 100))
    return model


def pretrain_vfm(args: PretrainVfmOptions, images: Optional[Tensor] = None) -> str:
    """Pretrain the stand-in VFM by ``args.method`` and save it; returns the path.

    Args:
        args: the settings.
        images: ``(N, 3, 64, 64)`` uint8 RGB training images; None: the first
            ``args.scenes`` scenes of the ``clip`` split.
    """
    import time
    if args.method not in METHODS:
        raise ValueError(f'method {args.method!r}: expected one of {METHODS}')
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out = args.out or DEFAULT_OUT[args.method]
    if images is None:
        images = clip_split_images(args.scenes)
    t0 = time.time()
    if args.method == 'simmim':
        model = pretrain_simmim(args, images)
    else:
        from .pretrain_dino import pretrain_dino
        model = pretrain_dino(args, images)
    save_backbone(model, out)
    print(f'saved {out}; {(time.time() - t0) / 60:.1f} min', flush=True)
    return out
