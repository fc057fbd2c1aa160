"""Pseudo-regions for DeCLIP's content distillation: a random m x n grid of image cells.

Written from the method description (DeCLIP / CLIPSelf "image patches"; the official
``xiaomoguhz/DeCLIP`` ``src/training/data.py``, ``GridDistillDataset``, was read for the
numbers only):

* the choice set holds every (m rows, n columns) with ``m`` in ``1..M`` and ``n`` in
  ``floor((m + 1) / 2)..min(2 m, M)`` (``M = max_split``, 6 in the official scripts);
* one choice is drawn uniformly per image, the *original-resolution* image is cut into
  ``m x n`` equal cells (float coordinates), the cells are shuffled and at most ``max_boxes``
  (20) are kept;
* each cell's crop is taken at the cell's rounded integer coordinates (what PIL's ``crop`` does
  with float boxes), optionally enlarged around its centre by ``crop_scale``.
"""
from typing import List, Optional, Tuple

import numpy as np

GridShape = Tuple[int, int]


def grid_choices(max_split: int = 6) -> List[GridShape]:
    """All ``(rows, cols)`` grids of the choice set, in a fixed order.

    Args:
        max_split: the largest number of rows or columns ``M``.

    Returns:
        list of ``(m, n)``; for ``M = 6`` it has 27 entries, starting ``(1, 1), (1, 2), (2, 1)``.
    """
    if max_split < 1:
        raise ValueError(f'max_split must be >= 1, got {max_split}')
    return [(m, n) for m in range(1, max_split + 1)
            for n in range((m + 1) // 2, min(2 * m, max_split) + 1)]


def grid_cells(rows: int, cols: int, width: float, height: float) -> np.ndarray:
    """The ``rows x cols`` equal cells of a ``width x height`` image, row-major.

    Returns:
        ``(rows * cols, 4)`` float32 xyxy boxes that tile ``[0, width] x [0, height]``.
    """
    xs = np.linspace(0.0, float(width), cols + 1)
    ys = np.linspace(0.0, float(height), rows + 1)
    x0, y0 = np.meshgrid(xs[:-1], ys[:-1])
    x1, y1 = np.meshgrid(xs[1:], ys[1:])
    return np.stack([x0, y0, x1, y1], -1).reshape(-1, 4).astype(np.float32)


def sample_grid_regions(width: int, height: int, max_split: int = 6, max_boxes: int = 20,
                        rng: Optional[np.random.RandomState] = None
                        ) -> Tuple[np.ndarray, GridShape]:
    """Draw a grid from the choice set and return up to ``max_boxes`` of its cells, shuffled.

    Args:
        width, height: original image size in pixels.
        max_split: ``M`` of :func:`grid_choices`.
        max_boxes: the most cells kept.
        rng: random source (numpy's global one by default, which mmengine seeds per worker).

    Returns:
        ``(boxes, (m, n))``: ``(K, 4)`` float32 xyxy cells in original pixels,
        ``K = min(m * n, max_boxes)``, and the grid drawn.
    """
    rng = np.random if rng is None else rng
    choices = grid_choices(max_split)
    rows, cols = choices[rng.randint(len(choices))]
    cells = grid_cells(rows, cols, width, height)
    keep = rng.permutation(len(cells))[:max_boxes]
    return cells[keep], (rows, cols)


def crop_window(box: np.ndarray, width: int, height: int, crop_scale: float = 1.0
                ) -> Tuple[int, int, int, int]:
    """Integer pixel window ``(x0, y0, x1, y1)`` of a float box, at least one pixel wide.

    ``crop_scale > 1`` enlarges the box around its centre (clipped to the image) first.
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    if crop_scale != 1.0:
        cx, cy, hw, hh = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) * crop_scale / 2, \
            (y1 - y0) * crop_scale / 2
        x0, y0, x1, y1 = max(cx - hw, 0.0), max(cy - hh, 0.0), min(cx + hw, width), \
            min(cy + hh, height)
    ix0 = min(max(int(round(x0)), 0), width - 1)
    iy0 = min(max(int(round(y0)), 0), height - 1)
    ix1 = max(min(int(round(x1)), width), ix0 + 1)
    iy1 = max(min(int(round(y1)), height), iy0 + 1)
    return ix0, iy0, ix1, iy1
