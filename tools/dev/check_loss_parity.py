"""Compare declip_mm's distillation losses with the official DeCLIP loss code, number by number.

The official loss is imported at run time from a local clone of xiaomoguhz/DeCLIP (main branch;
nothing of it is copied into declip_mm)::

    git clone https://github.com/xiaomoguhz/DeCLIP /tmp/declip_official
    python tools/dev/check_loss_parity.py --official-repo /tmp/declip_official

The official ``src/training/declip.py`` ``DeCLIP.__call__`` runs unchanged on stand-ins for its
three models that return fixed tensors: the student's ``encode_pseudo_boxes`` returns region
features (L2-normalised, as ``normalize=True`` does) and its last-block context in the official
layout (heads split, ``(B * heads, N, head_dim)``, CLS dropped); the teacher's ``encode_image``
returns the crop embeddings; the VFM's ``get_intermediate_layers`` returns ``(B, C', h, w)``
tokens (the DINOv2 path). declip_mm's ``region_content_loss`` and ``context_correlation_loss``
get the same tensors (the context with its heads merged into ``(B, C, H, W)`` maps, the layout
``DeCLIPViT`` gives). Boxes are padded per image with an invalid flag, as the official
collation does, so the official code's valid-box filtering is exercised too.

Cases (random tensors, float32, CPU, batch ``--batch`` >= 2):

* ``qq``: the VFM grid equal to the student's (checked). With a smaller VFM grid the official
  branch resizes the student's context bilinearly, then reads the ``(B, C, w, h)`` map's memory
  as ``(B, h * w, C)`` tokens, which mixes channels and positions; declip_mm keeps the tokens
  whole, so the two differ (printed, not checked), and declip_mm's loss on tokens laid out the
  official way equals the official loss (checked). The official pipeline sizes the VFM view to
  the student's grid (``proxy_resolution = L * patch``), so it never takes that path;
* ``csa``: the official branch on its own context layout (heads split) fails for batch > 1
  (its per-head similarity ``(B * heads, N, N)`` is subtracted from the teacher's ``(B, N, N)``);
  at batch 1 it broadcasts over the heads and optimises a per-head objective, which is not the
  merged-head objective declip_mm computes (the difference is printed, not checked). With the
  heads merged before the official branch (``(B, N, C)``), it computes declip_mm's loss: that
  case is checked at batch ``--batch``.

Prints one line per case and exits 1 if a checked case differs by more than ``--tol`` (1e-5).
"""
import argparse
import os
import sys
from types import SimpleNamespace
from typing import Callable, Dict, List, Sequence, Tuple

from declip_mm.apis.cli import run_main  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import Tensor  # noqa: E402


def import_official_declip(repo: str) -> type:
    """The official ``DeCLIP`` loss class from a checkout (``<repo>/src/training/declip.py``)."""
    src = os.path.join(repo, 'src')
    if not os.path.isfile(os.path.join(src, 'training', 'declip.py')):
        raise SystemExit(f'error: {repo} has no src/training/declip.py (a xiaomoguhz/DeCLIP '
                         'clone, main branch)')
    import open_clip  # noqa: F401  the installed one, before the clone's own goes on the path
    sys.path.append(src)
    from training.declip import DeCLIP
    return DeCLIP


# ---------------------------------------------------------------------- stand-ins for the models
class FixedStudent:
    """Official student stand-in: ``encode_pseudo_boxes`` returns fixed (features, context)."""

    def __init__(self, regions: Tensor, context):
        self.regions, self.context = regions, context

    def encode_pseudo_boxes(self, images, rois_list, normalize=True, mode='qq'):
        if sum(len(r) for r in rois_list) != len(self.regions):
            raise RuntimeError('valid boxes and region features differ in number')
        feats = F.normalize(self.regions, dim=-1) if normalize else self.regions
        return feats, self.context


class FixedTeacher:
    """Official teacher stand-in: ``encode_image`` returns the fixed crop embeddings."""

    def __init__(self, crops: Tensor):
        self.crops = crops

    def encode_image(self, image_crops, normalize=True):
        if len(image_crops) != len(self.crops):
            raise RuntimeError('valid crops and crop embeddings differ in number')
        return F.normalize(self.crops, dim=-1) if normalize else self.crops


class FixedVFM:
    """Official DINOv2 stand-in: ``get_intermediate_layers(x, reshape=True)[0]`` is fixed."""

    def __init__(self, tokens: Tensor):
        self.tokens = tokens

    def get_intermediate_layers(self, x, reshape=True):
        return [self.tokens]


# ---------------------------------------------------------------------- tensors and layouts
def split_heads(x: Tensor, heads: int) -> Tensor:
    """``(B, N, C)`` -> the official ``(B * heads, N, C / heads)`` layout (batch-major)."""
    b, n, c = x.shape
    return x.view(b, n, heads, c // heads).permute(0, 2, 1, 3).reshape(b * heads, n, c // heads)


def tokens_to_map(x: Tensor, grid: Tuple[int, int]) -> Tensor:
    """``(B, N, C)`` -> ``(B, C, H, W)``."""
    return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], *grid)


def official_resize_layout(tokens: Tensor, grid: Tuple[int, int],
                           size: Tuple[int, int]) -> Tensor:
    """``(B, N, C)`` student tokens resized to ``size`` and laid out as the official qq branch
    lays them out: the resized ``(B, C, h, w)`` map, transposed to ``(B, C, w, h)``, read as
    ``(B, h * w, C)`` memory (which mixes channels and positions; declip_mm keeps the tokens)."""
    b, _, c = tokens.shape
    resized = F.interpolate(tokens_to_map(tokens, grid), size=size, mode='bilinear',
                            align_corners=False)
    return resized.transpose(-2, -1).contiguous().view(b, size[0] * size[1], c)


def make_case(batch: int, grid: int, vfm_grid: int, seed: int, heads: int = 4, width: int = 32,
              dim: int = 16, vfm_dim: int = 24, max_boxes: int = 5) -> Dict[str, object]:
    """Random student / teacher / VFM tensors and the padded official batch."""
    g = torch.Generator().manual_seed(seed)
    valid = [max_boxes - (i % 3) for i in range(batch)]            # some padding rows per image
    n = sum(valid)
    boxes = torch.zeros(batch, max_boxes, 5)
    for i, k in enumerate(valid):
        xy = torch.rand(k, 2, generator=g) * 0.5
        boxes[i, :k, :2], boxes[i, :k, 2:4] = xy, xy + 0.1 + torch.rand(k, 2, generator=g) * 0.4
        boxes[i, :k, 4] = 1.0
    return dict(
        batch=batch, heads=heads, grid=(grid, grid), boxes=boxes, valid=valid,
        regions=torch.randn(n, dim, generator=g), crops=torch.randn(n, dim, generator=g),
        q=torch.randn(batch, grid * grid, width, generator=g),
        k=torch.randn(batch, grid * grid, width, generator=g),
        vfm=torch.randn(batch, vfm_dim, vfm_grid, vfm_grid, generator=g),
        images=torch.zeros(batch, 3, 8, 8), crop_images=torch.zeros(batch, max_boxes, 3, 4, 4),
        proxy=torch.zeros(batch, 3, 8, 8))


def official_losses(declip_cls: type, case: dict, mode: str, context) -> Dict[str, float]:
    """Run the official ``DeCLIP.__call__`` with weights 1.0 on the fixed tensors."""
    args = SimpleNamespace(loss_context_weight=1.0, loss_content_weight=1.0, distributed=False,
                           precision='fp32', device='cpu', use_vfm='dinov2-B', mode=mode)
    batch = (case['images'], case['boxes'], case['crop_images'], case['proxy'])
    losses, _ = declip_cls()(batch, FixedStudent(case['regions'], context),
                             FixedTeacher(case['crops']), FixedVFM(case['vfm']), args)
    return {k: float(v) for k, v in losses.items()}


def our_losses(case: dict, sources: Sequence[str]) -> Dict[str, float]:
    """declip_mm's pure loss functions on the same tensors (context maps, heads merged)."""
    from declip_mm.models.distillers.losses import (context_correlation_loss,
                                                    region_content_loss)
    maps = [tokens_to_map(case[s], case['grid']) for s in sources]
    return dict(loss_content=float(region_content_loss(case['regions'], case['crops'])),
                loss_context=float(context_correlation_loss(case['vfm'], maps)))


# ---------------------------------------------------------------------- cases
def run_cases(declip_cls: type, batch: int, seed: int) -> List[Tuple[str, str, object, bool]]:
    """``(case, loss, |official - ours| or a note, checked)`` rows."""
    rows = []

    def compare(name: str, official: Callable[[], Dict[str, float]], ours: Dict[str, float],
                checked: bool = True) -> None:
        try:
            ref = official()
        except RuntimeError as err:
            rows.append((name, 'official', f'fails: {str(err).splitlines()[0][:70]}', False))
            return
        for key in ('loss_content', 'loss_context'):
            rows.append((name, key, abs(ref[key] - ours[key]), checked))

    case = make_case(batch, 6, 6, seed)
    compare(f'qq, batch {batch}, grids equal',
            lambda: official_losses(declip_cls, case, 'qq_vfm_distill',
                                    split_heads(case['q'], case['heads'])),
            our_losses(case, ('q',)))
    small = make_case(batch, 6, 5, seed)
    official_small = lambda: official_losses(  # noqa: E731
        declip_cls, small, 'qq_vfm_distill', split_heads(small['q'], small['heads']))
    compare(f'qq, batch {batch}, VFM grid 5x5 < student 6x6 (not checked)', official_small,
            our_losses(small, ('q',)), checked=False)
    compare(f'qq, batch {batch}, 5x5 < 6x6, ours on the official resize layout', official_small,
            our_losses(dict(small, q=official_resize_layout(small['q'], (6, 6), (5, 5)),
                            grid=(5, 5)), ('q',)))
    case = make_case(batch, 6, 6, seed + 1)
    ours = our_losses(case, ('q', 'k'))
    compare(f'csa, batch {batch}, official layout (heads split)',
            lambda: official_losses(declip_cls, case, 'csa_vfm_distill',
                                    (split_heads(case['q'], 4), split_heads(case['k'], 4))),
            ours, checked=False)
    compare(f'csa, batch {batch}, heads merged before the official branch',
            lambda: official_losses(declip_cls, case, 'csa_vfm_distill', (case['q'], case['k'])),
            ours)
    one = make_case(1, 6, 6, seed + 2)
    compare('csa, batch 1, official layout (per-head objective; not checked)',
            lambda: official_losses(declip_cls, one, 'csa_vfm_distill',
                                    (split_heads(one['q'], 4), split_heads(one['k'], 4))),
            our_losses(one, ('q', 'k')), checked=False)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--official-repo', required=True,
                        help='a clone of xiaomoguhz/DeCLIP (main branch)')
    parser.add_argument('--batch', type=int, default=2, help='batch size (>= 2)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--tol', type=float, default=1e-5)
    args = parser.parse_args()
    if args.batch < 2:
        parser.error('--batch must be >= 2 (batch 1 is always run for csa)')
    torch.set_num_threads(1)
    import declip_mm  # noqa: F401  before the clone's src/ goes on sys.path
    declip_cls = import_official_declip(args.official_repo)
    failed = False
    for name, key, diff, checked in run_cases(declip_cls, args.batch, args.seed):
        if isinstance(diff, float):
            bad = checked and diff > args.tol
            failed |= bad
            verdict = ('FAIL' if bad else 'ok') if checked else 'info'
            print(f'{name:62s} {key:13s} |diff| {diff:.2e}  {verdict}')
        else:
            print(f'{name:62s} {key:13s} {diff}')
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    run_main(main)
