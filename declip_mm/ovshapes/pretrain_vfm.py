"""Pretrain the OV-Shapes stand-in vision foundation model (the distillation's context teacher).

No DINOv2 weights exist offline. This trains a tiny DINO-layout ViT (timm
``vit_base_patch8_224`` narrowed to width 96, 4 blocks, 3 heads; patch 8, so an 8 x 8 grid on
the 64 px scenes, the student's grid) self-supervised, by masked image modelling (SimMIM: half
of the patch embeddings are replaced by a learnt mask token, a linear head regresses the
normalised pixels of the masked patches, L1 loss), on the images of the ``clip`` split (no
captions are read). The file is saved in the DINO layout, so the distiller loads it with::

    vfm=dict(type='DeCLIPDINOTeacher', arch='vitb8', checkpoint=TINY_VFM_CHECKPOINT,
             arch_overrides=OV_SHAPES_VFM_OVERRIDES)   # declip_mm.datasets.ov_shapes.arch

Command line: ``tools/ovshapes/pretrain_vfm.py``.
"""

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..datasets.ov_shapes.arch import OV_SHAPES_MEAN, OV_SHAPES_STD, OV_SHAPES_VFM_OVERRIDES
from ..datasets.ov_shapes.writer import SPLITS, make_scenes
from ..engine.atomic_io import atomic_torch_save

PATCH = 8


@dataclass
class PretrainVfmOptions:
    """The recipe's settings (``tools/ovshapes/pretrain_vfm.py --help``)."""
    out: str = 'work_dirs/ovshapes/tiny_vfm.pt'
    seed: int = 0
    scenes: int = 20000
    steps: int = 2000
    batch_size: int = 128
    lr: float = 1e-3
    mask_ratio: float = 0.5
    threads: int = 2
    device: str = 'cpu'


def build_vfm() -> torch.nn.Module:
    """The stand-in VFM: the timm model of ``DeCLIPDINOTeacher('vitb8')``, made trainable."""
    from ..models.distillers.vfm_teachers import DeCLIPDINOTeacher
    model = DeCLIPDINOTeacher('vitb8', arch_overrides=OV_SHAPES_VFM_OVERRIDES).model
    return model.requires_grad_(True).train()


def patch_targets(x: torch.Tensor) -> torch.Tensor:
    """``(B, 3, H, W)`` -> ``(B, h*w, 3*p*p)`` per-patch pixels, each patch normalised."""
    b, c, h, w = x.shape
    t = x.reshape(b, c, h // PATCH, PATCH, w // PATCH, PATCH).permute(0, 2, 4, 1, 3, 5)
    t = t.reshape(b, (h // PATCH) * (w // PATCH), c * PATCH * PATCH)
    return (t - t.mean(-1, keepdim=True)) / (t.var(-1, keepdim=True) + 1e-6).sqrt()


def masked_tokens(model, mask_token: torch.Tensor, x: torch.Tensor,
                  mask: torch.Tensor) -> torch.Tensor:
    """Patch tokens ``(B, N, C)`` of ``x`` with the patches in ``mask`` ``(B, N)`` replaced by
    ``mask_token`` before the position embedding (SimMIM)."""
    emb = model.patch_embed(x)                       # (B, h, w, C) with dynamic_img_size
    b, h, w, c = emb.shape
    emb = torch.where(mask.view(b, h, w, 1), mask_token.view(1, 1, 1, c).to(emb.dtype), emb)
    out = model.norm(model.blocks(model.norm_pre(model._pos_embed(emb))))
    return out[:, model.num_prefix_tokens:]


def pretrain_vfm(args: PretrainVfmOptions) -> None:
    """Pretrain the stand-in VFM by masked image modelling and save it at ``args.out``."""
    from tqdm import tqdm
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    spec = SPLITS['clip']
    scenes = make_scenes(args.scenes, spec.seed, spec.base_only,
                         wrap=lambda it: tqdm(it, desc='scenes', mininterval=5))
    images = torch.from_numpy(np.stack([s.image for s in scenes])).permute(0, 3, 1, 2)
    del scenes
    mean = torch.tensor(OV_SHAPES_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(OV_SHAPES_STD).view(1, 3, 1, 1)
    model = build_vfm().to(args.device)
    dim = OV_SHAPES_VFM_OVERRIDES['embed_dim']
    mask_token = torch.nn.Parameter(torch.zeros(dim, device=args.device))
    head = torch.nn.Linear(dim, 3 * PATCH * PATCH).to(args.device)
    params = list(model.parameters()) + [mask_token] + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.05, betas=(0.9, 0.95))
    t0, running = time.time(), 0.0
    for step in range(args.steps):
        idx = torch.randint(len(images), (args.batch_size,), generator=gen)
        x = (images[idx].float() - mean) / std
        flip = torch.rand(len(idx), generator=gen) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x).to(args.device)
        n = (x.shape[-1] // PATCH) * (x.shape[-2] // PATCH)
        mask = (torch.rand(len(idx), n, generator=gen) < args.mask_ratio).to(args.device)
        lr = args.lr * min(1.0, (step + 1) / 100) * 0.5 * (1 + math.cos(math.pi * step /
                                                                          args.steps))
        for g in opt.param_groups:
            g['lr'] = lr
        pred = head(masked_tokens(model, mask_token, x, mask))
        loss = (F.l1_loss(pred, patch_targets(x), reduction='none').mean(-1) * mask).sum() \
            / mask.sum().clamp(min=1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        running += loss.item()
        if (step + 1) % 100 == 0:
            print(f'step {step + 1}/{args.steps} loss {running / 100:.4f} '
                  f'{(time.time() - t0) / (step + 1):.2f}s/step', flush=True)
            running = 0.0
    atomic_torch_save({k: v.detach().cpu() for k, v in model.state_dict().items()}, args.out)
    print(f'saved {args.out}; {(time.time() - t0) / 60:.1f} min', flush=True)

