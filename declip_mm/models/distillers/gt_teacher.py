"""The proving ground's upper-bound context teacher: patch features made from ground truth.

Each object instance of a scene gets one fixed random unit vector, the background a shared one
(row 0 of a seeded codebook); the per-pixel vectors are average-pooled to the teacher's patch
grid. Two patches' cosine similarity is then (close to) the overlap of their instance
histograms: 1 for two patches of the same object, about 0 for different objects or object vs
background. Distilling context from it tests the context mechanism alone, with a perfect "VFM".

It needs the batch's instance maps (``data_samples[i].instance_map``, ``(H, W)`` int, 0 for
background and ``k`` for instance ``k``, on the student canvas), which the OV-Shapes
distillation pipeline carries (``DeCLIPOVShapesInstanceDataset``, ``DeCLIPLoadInstanceMap``,
``PackDeCLIPDistillInputsWithInstances``). Without them it raises one ``DataError``.
"""
from functools import lru_cache
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from ...registry import MODELS
from ...utils.errors import ConfigError, DataError


def instance_codebook(num_slots: int, dim: int, seed: int = 0) -> Tensor:
    """``(num_slots, dim)`` fixed random unit vectors (row 0: background), from ``seed``."""
    gen = torch.Generator().manual_seed(int(seed))
    return F.normalize(torch.randn(num_slots, dim, generator=gen), dim=-1)


@lru_cache(maxsize=8)
def _background_rows(grid: Tuple[int, int], dim: int, seed: int) -> Tensor:
    """``(dim, h, w)`` per-patch background vectors of one grid, drawn once (read-only)."""
    h, w = grid
    return instance_codebook(h * w, dim, seed).t().reshape(dim, h, w)


def instance_fractions(instance_map: Tensor, patch: int, num_slots: int) -> Tensor:
    """Per-patch histogram of instance ids.

    Args:
        instance_map: ``(B, H, W)`` integer ids in ``[0, num_slots)`` (0: background).
        patch: patch side in pixels; a partial last patch is padded with background.
        num_slots: number of ids (background included).

    Returns:
        ``(B, num_slots, ceil(H/patch), ceil(W/patch))`` fractions summing to 1 per patch.
    """
    ids = instance_map.long()
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= num_slots):
        raise DataError(f'instance map ids must lie in [0, {num_slots}); got '
                        f'[{int(ids.min())}, {int(ids.max())}]')
    ph, pw = (-ids.shape[-2]) % patch, (-ids.shape[-1]) % patch
    if ph or pw:
        ids = F.pad(ids, (0, pw, 0, ph))
    one_hot = F.one_hot(ids, num_slots).permute(0, 3, 1, 2).float()
    return F.avg_pool2d(one_hot, patch)


def gt_patch_features(instance_map: Tensor, codebook: Tensor, patch: int,
                      background: Optional[Tensor] = None) -> Tensor:
    """``(B, H, W)`` ids -> ``(B, dim, h, w)`` patch features: histogram-weighted codebook rows.

    Args:
        instance_map: ``(B, H, W)`` ids (0: background).
        codebook: ``(S, dim)`` one row per id (row 0: the shared background vector).
        patch: patch side.
        background: optional ``(dim, h, w)`` per-patch background vectors that replace row 0
            (background as many unrelated regions instead of one object).
    """
    frac = instance_fractions(instance_map, patch, codebook.shape[0])
    feats = torch.einsum('bshw,sd->bdhw', frac, codebook.to(frac.device))
    if background is not None:
        if tuple(background.shape[1:]) != tuple(frac.shape[-2:]):
            raise DataError(f'background vectors {tuple(background.shape)} do not match the '
                            f'{tuple(frac.shape[-2:])} patch grid')
        bg = background.to(frac.device)
        feats = feats + frac[:, :1] * (bg.unsqueeze(0) - codebook[0].to(frac.device).view(
            1, -1, 1, 1))
    return feats


def batch_instance_maps(data_samples: Optional[Sequence]) -> Tensor:
    """Stack ``data_samples[i].instance_map`` into ``(B, H, W)``; one clear error if absent."""
    if not data_samples or any('instance_map' not in ds for ds in data_samples):
        raise DataError('DeCLIPGTInstanceTeacher needs ground-truth instance maps in the batch '
                        '(data_samples[i].instance_map); it is an OV-Shapes proving-ground '
                        'teacher: use DeCLIPOVShapesInstanceDataset with DeCLIPLoadInstanceMap '
                        'and PackDeCLIPDistillInputsWithInstances '
                        '(configs/ovshapes/declip_distill-context-gt_ovshapes.py)')
    return torch.stack([ds.instance_map for ds in data_samples])


@MODELS.register_module()
class DeCLIPGTInstanceTeacher(BaseModule):
    """Upper-bound context teacher from ground-truth instance maps (proving ground only).

    Args:
        patch_size: teacher patch side on the student canvas (8: the tiny CLIP's grid).
        dim: feature width.
        max_instances: largest instance id (the codebook has ``max_instances + 1`` rows).
        seed: codebook seed.
        background: ``'shared'`` (one vector: the background is one region, as a VFM that
            groups it) or ``'distinct'`` (one vector per patch position: background patches
            are unrelated to each other, so only same-object pairs are similar).
    """

    needs_data_samples = True
    """The distiller passes the batch's data samples to ``forward``."""

    def __init__(self, patch_size: int = 8, dim: int = 64, max_instances: int = 15,
                 seed: int = 0, background: str = 'shared', init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if background not in ('shared', 'distinct'):
            raise ConfigError(f"DeCLIPGTInstanceTeacher: background must be 'shared' or "
                              f"'distinct', got {background!r}")
        self.patch_size, self.dim, self.seed = int(patch_size), int(dim), int(seed)
        self.background = background
        self.register_buffer('codebook', instance_codebook(max_instances + 1, dim, seed), False)

    def background_vectors(self, grid: Sequence[int]) -> Optional[Tensor]:
        """``(dim, h, w)`` per-patch background vectors (``'distinct'``), else None."""
        if self.background == 'shared':
            return None
        return _background_rows((int(grid[0]), int(grid[1])), self.dim, self.seed + 1)

    @property
    def out_channels(self) -> int:
        return self.dim

    @torch.no_grad()
    def forward(self, images: Tensor, data_samples: Optional[Sequence] = None) -> Tensor:
        """``images`` (unused but for the device) and the samples' maps -> ``(B, dim, h, w)``."""
        maps = batch_instance_maps(data_samples).to(images.device)
        if maps.shape[0] != images.shape[0]:
            raise DataError(f'DeCLIPGTInstanceTeacher: {maps.shape[0]} instance maps for '
                            f'{images.shape[0]} images')
        grid = [-(-n // self.patch_size) for n in maps.shape[-2:]]
        return gt_patch_features(maps, self.codebook, self.patch_size,
                                 self.background_vectors(grid))
