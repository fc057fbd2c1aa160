"""What the stand-in VFM recipes share (``pretrain_vfm``: SimMIM, ``pretrain_dino``: DINO).

The model (the tiny DINO-layout ViT of ``DeCLIPDINOTeacher('vitb8')``), the in-memory images
of the ``clip`` split, the normalisation, a token encoder with optional patch masking, the
optimiser, the warm-up + cosine learning rate, the step loop with its log, and the save in
the DINO layout (the timm state dict in float16, which ``DeCLIPDINOTeacher`` loads unchanged).
"""
import math
import time
from typing import Callable, Iterable, List, Optional, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ..datasets.ov_shapes.arch import OV_SHAPES_VFM_OVERRIDES
from ..engine.atomic_io import atomic_torch_save

PATCH = 8
"""The stand-in's patch size (``vitb8``): an 8 x 8 grid on the 64 px scenes."""


def build_vfm() -> nn.Module:
    """The stand-in VFM: the timm model of ``DeCLIPDINOTeacher('vitb8')``, made trainable."""
    from ..models.distillers.vfm_teachers import DeCLIPDINOTeacher
    model = DeCLIPDINOTeacher('vitb8', arch_overrides=OV_SHAPES_VFM_OVERRIDES).model
    return model.requires_grad_(True).train()


def clip_split_images(n: int) -> Tensor:
    """The first ``n`` scenes of the ``clip`` split, made in memory (no captions are read):
    ``(n, 3, 64, 64)`` uint8 RGB."""
    from tqdm import tqdm
    from ..datasets.ov_shapes.writer import SPLITS, make_scenes
    spec = SPLITS['clip']
    scenes = make_scenes(n, spec.seed, spec.base_only,
                         wrap=lambda it: tqdm(it, desc='scenes', mininterval=5))
    return torch.from_numpy(np.stack([s.image for s in scenes])).permute(0, 3, 1, 2).contiguous()


def normalise(x: Tensor, mean: Sequence[float], std: Sequence[float]) -> Tensor:
    """``(B, 3, H, W)`` 0..255 RGB -> ``(x - mean) / std`` per channel (float32)."""
    return (x.float() - torch.tensor(mean, device=x.device).view(1, 3, 1, 1)) \
        / torch.tensor(std, device=x.device).view(1, 3, 1, 1)


def encode(model: nn.Module, x: Tensor, mask: Optional[Tensor] = None,
           mask_token: Optional[Tensor] = None) -> Tensor:
    """All output tokens ``(B, 1 + h*w, C)`` (CLS first, after the final norm) of ``x``
    ``(B, 3, H, W)``; the patches in ``mask`` ``(B, h*w)`` bool, if given, are replaced by
    ``mask_token`` ``(C,)`` before the position embedding."""
    emb = model.patch_embed(x)                       # (B, h, w, C) with dynamic_img_size
    if mask is not None:
        b, h, w, c = emb.shape
        emb = torch.where(mask.view(b, h, w, 1), mask_token.view(1, 1, 1, c).to(emb.dtype), emb)
    return model.norm(model.blocks(model.norm_pre(model._pos_embed(emb))))


def warmup_cosine(step: int, steps: int, base: float, warmup: int) -> float:
    """Learning rate of 0-based ``step``: linear warm-up to ``base`` over ``warmup`` steps,
    times a half cosine from 1 at step 0 to 0 at ``steps``."""
    return base * min(1.0, (step + 1) / max(warmup, 1)) * 0.5 * (1 + math.cos(math.pi * step
                                                                             / steps))


def make_optimizer(params: Iterable[Tensor], lr: float, weight_decay: float,
                   betas=(0.9, 0.999)) -> torch.optim.Optimizer:
    """AdamW over ``params``."""
    return torch.optim.AdamW(list(params), lr=lr, weight_decay=weight_decay, betas=betas)


def run_steps(loss_fn: Callable[[int], Tensor], opt: torch.optim.Optimizer, steps: int,
              lr_fn: Callable[[int], float], clip_grad: Optional[float] = None,
              after_step: Optional[Callable[[int], None]] = None,
              log_every: int = 100) -> List[float]:
    """The training loop: for each step set the learning rate, ``loss_fn(step)``, backward,
    clip the gradient norm (if ``clip_grad``), step, ``after_step(step)``. Prints the mean
    loss and s/step every ``log_every`` steps; returns those means."""
    t0, running, means = time.time(), 0.0, []
    params = [p for g in opt.param_groups for p in g['params']]
    for step in range(steps):
        lr = lr_fn(step)
        for g in opt.param_groups:
            g['lr'] = lr
        loss = loss_fn(step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip_grad:
            torch.nn.utils.clip_grad_norm_(params, clip_grad)
        opt.step()
        if after_step is not None:
            after_step(step)
        running += loss.item()
        if (step + 1) % log_every == 0 or step + 1 == steps:
            n = (step % log_every) + 1
            means.append(running / n)
            print(f'step {step + 1}/{steps} loss {running / n:.4f} '
                  f'{(time.time() - t0) / (step + 1):.2f}s/step', flush=True)
            running = 0.0
    return means


def save_backbone(model: nn.Module, path: str) -> None:
    """Save the timm state dict (the DINO layout ``DeCLIPDINOTeacher`` loads) at ``path``, its
    floating-point tensors in float16, as the shipped stand-ins are."""
    atomic_torch_save({k: v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu()
                       for k, v in model.state_dict().items()}, path)
