"""Region classification and foreground mIoU of a CLIP checkpoint on the OV-Shapes test split.

Rows: ``crop`` (global embedding of each widened GT crop, the upper bound a dense map aims at)
and one row per DeCLIPViT mode (default ``vanilla``, ``maskclip`` (value-only), ``csa``): the
dense map of the whole scene, RoIAligned in each GT box. Columns: accuracy (%) over all objects,
base and novel classes, colour and shape of the predicted class, then foreground mIoU (%) over
all / base / novel classes (``probe``). Command line: ``tools/ovshapes/eval_dense.py``.
"""
from typing import Dict, Sequence

import torch

from ..datasets.ov_shapes.writer import SPLITS, make_scenes
from . import probe


def eval_dense(checkpoint: str, text_checkpoint: str,
               modes: Sequence[str] = ('vanilla', 'maskclip', 'csa'), crop: bool = True,
               scenes: int = SPLITS['test'].n, threads: int = 2) -> str:
    """Measure ``checkpoint``'s image tower with the text tower of ``text_checkpoint``.

    Args:
        checkpoint: image-tower checkpoint (any layout DeCLIPViT loads).
        text_checkpoint: text-tower checkpoint (distilled students share the tiny CLIP's).
        modes: DeCLIPViT modes measured densely.
        crop: also the crop row.
        scenes: first test scenes used.
        threads: torch CPU threads.

    Returns:
        the report: a heading, the markdown table and the seconds per row.
    """
    torch.set_num_threads(threads)
    spec = SPLITS['test']
    scene_list = make_scenes(scenes, spec.seed, spec.base_only)
    text_emb = probe.class_embeddings(probe.load_text(text_checkpoint))
    rows, times = probe.evaluate_checkpoint(checkpoint, text_emb, scene_list, list(modes),
                                            crop=crop)
    return report(rows, times, scenes, checkpoint)


def report(rows: Dict[str, dict], times: Dict[str, float], scenes: int, checkpoint: str) -> str:
    """Heading, table and timings of :func:`eval_dense`."""
    n_obj = int(next(iter(rows.values()))['objects'])
    return '\n'.join([
        f'OV-Shapes test: {scenes} scenes, {n_obj} objects; checkpoint {checkpoint}',
        probe.format_table(rows),
        'seconds per row: ' + ', '.join(f'{k} {v:.1f}' for k, v in times.items())])
