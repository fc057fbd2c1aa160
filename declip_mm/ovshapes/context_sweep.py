"""The context half of DeCLIP on OV-Shapes: distil with context teacher x weight x seed, measure.

Each run trains one distillation config in this process (``main_job.train_detector``, as the
ladder does; the ladder's recipe: 500 steps of batch 16 on 2,000 base-only scenes, config
overrides only), then the probes on the ensembled
encoder (``probe.evaluate``, ``csa``): region accuracy, fg-mIoU and the same-object affinity AUC
of the content map and of the context features. The teachers are rated on the same AUC scale
(``teacher_aucs``). Results go to ``<out>/sweep.json`` after every run (a rerun skips the runs
it already holds) and ``<out>/sweep.md``.

Teachers (``TEACHERS``): ``none`` (content only), ``gt`` (the upper bound,
``DeCLIPGTInstanceTeacher`` with unrelated background patches), ``gt-shared`` (the same with
one shared background vector), ``simmim`` (the shipped SimMIM stand-in VFM), ``dino`` (the
shipped DINO stand-in VFM).
"""
import json
import os
import statistics
import time
from typing import Dict, List, Optional, Sequence

GT_CONFIG = 'configs/ovshapes/declip_distill-context-gt_ovshapes.py'
TEACHERS = {
    'none': ('configs/ovshapes/declip_distill_ovshapes.py', {}),
    'gt': (GT_CONFIG, {'model.vfm.background': 'distinct'}),
    'gt-shared': (GT_CONFIG, {'model.vfm.background': 'shared'}),
    'simmim': ('configs/ovshapes/declip_distill-context_ovshapes.py', {}),
    'dino': ('configs/ovshapes/declip_distill-context-dino_ovshapes.py', {}),
}
"""Teacher name -> (distillation config, extra config overrides)."""
KEYS = ('all', 'base', 'novel', 'miou', 'miou_novel', 'auc_content', 'auc_context')


def run_name(teacher: str, weight: float, seed: int) -> str:
    return f'{teacher}_w{weight:g}_s{seed}'


def distill_options(data_root: str, seed: int, scenes: int, epochs: int, lr: float,
                    weight: Optional[float]) -> Dict[str, object]:
    """Config overrides of one run (the ladder's recipe, with the context weight)."""
    opts: Dict[str, object] = {
        'randomness.seed': seed, 'optim_wrapper.optimizer.lr': lr,
        'train_dataloader.dataset.data_root': f'{os.path.abspath(data_root)}/',
        'train_dataloader.dataset.indices': scenes, 'train_cfg.max_epochs': epochs,
        'param_scheduler.1.end': epochs, 'param_scheduler.1.T_max': epochs,
        'default_hooks.checkpoint.interval': epochs}
    if weight is not None:
        opts['model.context_loss.loss_weight'] = weight
    return opts


STAND_IN_RATINGS = (('simmim', 'simmim', 'imagenet'), ('simmim_clip_norm', 'simmim', 'clip'),
                    ('dino', 'dino', 'imagenet'))
"""The stand-in VFM rows of ``teacher_aucs``: (row, stand-in, input normalisation). ImageNet
is how the distiller feeds the VFM; SimMIM was trained with the CLIP normalisation."""


def stand_in_checkpoints() -> Dict[str, str]:
    """The shipped stand-in VFMs: name -> checkpoint (``datasets.ov_shapes.arch``)."""
    from ..datasets.ov_shapes.arch import TINY_VFM_CHECKPOINT, TINY_VFM_DINO_CHECKPOINT
    return dict(simmim=TINY_VFM_CHECKPOINT, dino=TINY_VFM_DINO_CHECKPOINT)


def teacher_aucs(scenes, checkpoints: Optional[Dict[str, str]] = None) -> Dict[str, float]:
    """Affinity AUC (%) of the context teachers on ``scenes``: ``gt``, and each row of
    ``STAND_IN_RATINGS`` (a stand-in VFM under one input normalisation).

    Args:
        scenes: OV-Shapes scenes.
        checkpoints: stand-in name -> checkpoint, replacing the shipped ones
            (``stand_in_checkpoints``) for the names given.
    """
    import numpy as np
    import torch
    from ..datasets.ov_shapes.arch import (OV_SHAPES_MEAN, OV_SHAPES_STD,
                                           OV_SHAPES_VFM_OVERRIDES)
    from ..models.distillers import DeCLIPDINOTeacher, DeCLIPGTInstanceTeacher
    from ..utils.image_norm import IMAGENET_MEAN, IMAGENET_STD
    from .affinity_probe import scene_instance_maps, teacher_auc
    from .vfm_training import normalise
    raw = torch.from_numpy(np.stack([s.image for s in scenes])).permute(0, 3, 1, 2).float()
    norms = dict(imagenet=(IMAGENET_MEAN, IMAGENET_STD), clip=(OV_SHAPES_MEAN, OV_SHAPES_STD))
    maps = scene_instance_maps(scenes)
    gt = DeCLIPGTInstanceTeacher(patch_size=8, dim=64)

    def gt_fn(images, m):
        from mmengine.structures import BaseDataElement
        return gt(images, [BaseDataElement(instance_map=x) for x in m])
    out = dict(gt=teacher_auc(gt_fn, normalise(raw, *norms['clip']), maps))
    paths = dict(stand_in_checkpoints(), **(checkpoints or {}))
    for row, name, norm in STAND_IN_RATINGS:
        vfm = DeCLIPDINOTeacher('vitb8', checkpoint=paths[name],
                                arch_overrides=OV_SHAPES_VFM_OVERRIDES)
        vfm.init_weights()
        out[row] = teacher_auc(lambda x, m: vfm(x), normalise(raw, *norms[norm]), maps)
    return out


def mean_std(values: List[float]) -> str:
    if not values:
        return '-'
    if len(values) == 1:
        return f'{values[0]:.1f}'
    return f'{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}'


def markdown(res: dict) -> str:
    """One row per (teacher, weight): mean ± std over its seeds, seeds and wall time listed."""
    groups: Dict[tuple, List[dict]] = {}
    for run in res['runs'].values():
        groups.setdefault((run['teacher'], run['weight']), []).append(run)
    lines = ['| teacher | weight | seeds | region acc. all | base | novel | fg-mIoU | '
             'novel fg-mIoU | AUC content | AUC context | distill s |',
             '|---|---|---|' + '---|' * 8]
    for (teacher, weight), runs in sorted(groups.items()):
        runs = sorted(runs, key=lambda r: r['seed'])
        cells = [mean_std([r['probe'][k] for r in runs]) for k in KEYS]
        lines.append(f'| {teacher} | {weight:g} | {",".join(str(r["seed"]) for r in runs)} | '
                     + ' | '.join(cells) + f' | {mean_std([r["distill_s"] for r in runs])} |')
    if res.get('teacher_auc'):
        lines += ['', 'Teacher affinity AUC (%): ' + ', '.join(
            f'{k} {v:.1f}' for k, v in res['teacher_auc'].items())]
    return '\n'.join(lines)


def save(res: dict, out: str) -> None:
    from ..engine.atomic_io import atomic_write_text
    atomic_write_text(os.path.join(out, 'sweep.json'), json.dumps(res, indent=2))
    atomic_write_text(os.path.join(out, 'sweep.md'), markdown(res) + '\n')


def run_sweep(teachers: Sequence[str], weights: Sequence[float], seeds: Sequence[int],
              out: str, data_root: str = 'data/ovshapes', eval_scenes: int = 1500,
              distill_scenes: int = 2000, epochs: int = 4, lr: float = 3e-4,
              rate_teachers: bool = True) -> dict:
    """Every (teacher, weight, seed) run not yet in ``<out>/sweep.json``; ``none`` runs once
    per seed (weight 0). Returns the results dict (also saved)."""
    from ..datasets.ov_shapes import SPLITS, make_scenes
    from ..datasets.ov_shapes.arch import TINY_CLIP_CHECKPOINT
    from . import main_job as mj
    from . import probe
    from .data import ensure_split
    out = os.path.abspath(out)
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, 'sweep.json')
    res = dict(runs={})
    if os.path.isfile(path):
        with open(path) as f:
            res = json.load(f)
    ensure_split(data_root, 'train_base', distill_scenes)
    test = SPLITS['test']
    scenes = make_scenes(eval_scenes, test.seed, test.base_only)
    text = probe.class_embeddings(probe.load_text(TINY_CLIP_CHECKPOINT))
    if rate_teachers and 'teacher_auc' not in res:
        res['teacher_auc'] = teacher_aucs(scenes)
        res['clip_csa'] = probe.evaluate(probe.load_visual(TINY_CLIP_CHECKPOINT, 'csa'), text,
                                         scenes)
        save(res, out)
    plan = [(t, 0.0 if t == 'none' else w, s) for s in seeds for t in teachers
            for w in (weights if t != 'none' else [0.0])]
    for teacher, weight, seed in dict.fromkeys(plan):
        name = run_name(teacher, weight, seed)
        if name in res['runs']:
            continue
        work = os.path.join(out, name)
        opts = distill_options(data_root, seed, distill_scenes, epochs, lr,
                               None if teacher == 'none' else weight)
        config, extra = TEACHERS[teacher]
        _, secs = mj.train_detector(config, work, dict(opts, **extra), f'distilling ({name})',
                                    os.path.join(out, 'logs', f'{name}.log'))
        t0 = time.time()
        ckpt = os.path.join(work, f'declip_backbone_epoch_{epochs}.pth')
        row = probe.evaluate(probe.load_visual(ckpt, 'csa'), text, scenes)
        res['runs'][name] = dict(teacher=teacher, weight=weight, seed=seed, probe=row,
                                 distill_s=round(secs, 1), probe_s=round(time.time() - t0, 1))
        save(res, out)
        print(f'{name}: acc {row["all"]:.1f} fg-mIoU {row["miou"]:.1f} AUC content '
              f'{row["auc_content"]:.1f} context {row["auc_context"]:.1f} ({secs:.0f} s)',
              flush=True)
    return res
