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
shipped DINO stand-in VFM). ``world`` picks the scenes and the configs of one world
(``recipes``); ``markdown`` also gives each row's gains over content only, paired by seed;
``merge`` joins sweeps run as separate processes.
"""
import json
import os
import statistics
import time
from typing import Dict, List, Optional, Sequence

TEACHERS = {
    'none': ('content', {}),
    'gt': ('gt', {'model.vfm.background': 'distinct'}),
    'gt-shared': ('gt', {'model.vfm.background': 'shared'}),
    'simmim': ('simmim', {}),
    'dino': ('dino', {}),
}
"""Teacher name -> (recipe in ``recipes.recipe_configs``, extra config overrides)."""
KEYS = ('all', 'base', 'novel', 'miou', 'miou_novel', 'auc_content', 'auc_context')


def run_name(teacher: str, weight: float, seed: int) -> str:
    return f'{teacher}_w{weight:g}_s{seed}'


STAND_IN_RATINGS = (('simmim', 'simmim', 'imagenet'), ('simmim_clip_norm', 'simmim', 'clip'),
                    ('dino', 'dino', 'imagenet'), ('random', None, 'imagenet'))
"""The stand-in VFM rows of ``teacher_aucs``: (row, stand-in, input normalisation). ImageNet
is how the distiller feeds the VFM; SimMIM was trained with the CLIP normalisation. ``random``
is the same network with seeded random weights (no checkpoint): the score a teacher must beat
to have learnt anything."""


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
        torch.manual_seed(0)  # the random row's weights
        vfm = DeCLIPDINOTeacher('vitb8', checkpoint=paths[name] if name else None,
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


def paired_gains(res: dict, teacher: str, weight: float) -> Dict[str, List[float]]:
    """``{key: [run - content-only run of the same seed]}`` over the seeds both have."""
    runs = res['runs']
    out: Dict[str, List[float]] = {k: [] for k in KEYS}
    for run in runs.values():
        base = runs.get(run_name('none', 0.0, run['seed']))
        if run['teacher'] != teacher or run['weight'] != weight or base is None:
            continue
        for k in KEYS:
            out[k].append(run['probe'][k] - base['probe'][k])
    return out


def markdown(res: dict) -> str:
    """One row per (teacher, weight): mean ± std over its seeds, seeds and wall time listed;
    then the gains over content only, paired by seed."""
    groups: Dict[tuple, List[dict]] = {}
    for run in res['runs'].values():
        groups.setdefault((run['teacher'], run['weight']), []).append(run)
    lines = [f'World: {res.get("world", "64")} px.', '',
             '| teacher | weight | seeds | region acc. all | base | novel | fg-mIoU | '
             'novel fg-mIoU | AUC content | AUC context | distill s |',
             '|---|---|---|' + '---|' * 8]
    for (teacher, weight), runs in sorted(groups.items()):
        runs = sorted(runs, key=lambda r: r['seed'])
        cells = [mean_std([r['probe'][k] for r in runs]) for k in KEYS]
        lines.append(f'| {teacher} | {weight:g} | {",".join(str(r["seed"]) for r in runs)} | '
                     + ' | '.join(cells) + f' | {mean_std([r["distill_s"] for r in runs])} |')
    gains = [(key, paired_gains(res, *key)) for key in sorted(groups) if key[0] != 'none']
    gains = [(key, g) for key, g in gains if g['all']]
    if gains:
        lines += ['', 'Gain over content only, paired by seed:', '',
                  '| teacher | weight | seeds | region acc. all | base | novel | fg-mIoU | '
                  'novel fg-mIoU | AUC content | AUC context |', '|---|---|---|' + '---|' * 7]
        for (teacher, weight), g in gains:
            lines.append(f'| {teacher} | {weight:g} | {len(g["all"])} | ' +
                         ' | '.join(signed(g[k]) for k in KEYS) + ' |')
    if res.get('teacher_auc'):
        lines += ['', 'Teacher affinity AUC (%): ' + ', '.join(
            f'{k} {v:.1f}' for k, v in res['teacher_auc'].items())]
    return '\n'.join(lines)


def signed(values: List[float]) -> str:
    """``'+m ± s'`` (one value: ``'+m'``)."""
    if len(values) == 1:
        return f'{values[0]:+.1f}'
    return f'{statistics.mean(values):+.1f} ± {statistics.stdev(values):.1f}'


def merge(results: Sequence[dict], sources: Sequence[str] = ()) -> dict:
    """One results dict from several sweeps of one world (for example, parts of the grid run
    by separate processes into separate ``--out`` folders).

    Args:
        results: ``sweep.json`` contents; the first one's teacher AUCs and CLIP row are kept.
        sources: a name per result, for the error messages.

    Raises:
        ValueError: the results come from different worlds, or one run name holds different
            numbers in two of them.
    """
    sources = list(sources) or [f'result {i}' for i in range(len(results))]
    worlds = {r.get('world', '64') for r in results}
    if len(worlds) > 1:
        raise ValueError('cannot merge sweeps of different worlds: '
                         + ', '.join(f'{s}: {r.get("world", "64")} px'
                                     for s, r in zip(sources, results)))
    merged = {k: v for k, v in results[0].items() if k != 'runs'} if results else {}
    merged['runs'] = {}
    origin: Dict[str, str] = {}
    for src, result in zip(sources, results):
        for name, run in result['runs'].items():
            if name in merged['runs'] and merged['runs'][name]['probe'] != run['probe']:
                raise ValueError(f'run {name} differs between {origin[name]} and {src}')
            merged['runs'].setdefault(name, run)
            origin.setdefault(name, src)
    return merged


def merge_folders(folders: Sequence[str], out: str) -> dict:
    """``merge`` of ``<folder>/sweep.json`` for each folder, after ``<out>/sweep.json`` if
    there is one; saved to ``out`` (``sweep.json``, ``sweep.md``) and returned.

    Raises:
        FileNotFoundError: a folder without ``sweep.json``.
    """
    paths = [os.path.join(d, 'sweep.json') for d in folders]
    for path in paths:
        if not os.path.isfile(path):
            raise FileNotFoundError(f'{path}: no sweep results there')
    own = os.path.join(out, 'sweep.json')
    if os.path.isfile(own) and own not in paths:
        paths.insert(0, own)
    results = []
    for path in paths:
        with open(path) as f:
            results.append(json.load(f))
    res = merge(results, paths)
    os.makedirs(out, exist_ok=True)
    save(res, out)
    return res


def save(res: dict, out: str) -> None:
    from ..engine.atomic_io import atomic_write_text
    atomic_write_text(os.path.join(out, 'sweep.json'), json.dumps(res, indent=2))
    atomic_write_text(os.path.join(out, 'sweep.md'), markdown(res) + '\n')


def run_sweep(teachers: Sequence[str], weights: Sequence[float], seeds: Sequence[int],
              out: str, data_root: Optional[str] = None, eval_scenes: int = 1500,
              distill_scenes: int = 2000, epochs: int = 4, lr: float = 3e-4,
              rate_teachers: bool = True, world: str = '64') -> dict:
    """Every (teacher, weight, seed) run not yet in ``<out>/sweep.json``; ``none`` runs once
    per seed (weight 0). ``world`` picks the scenes and the configs (``recipes``);
    ``data_root`` defaults to the world's. Returns the results dict (also saved)."""
    from ..datasets.ov_shapes import SPLITS, get_world, make_scenes
    from ..datasets.ov_shapes.arch import tiny_clip_checkpoint
    from . import main_job as mj
    from . import probe
    from .data import ensure_split
    from .recipes import distill_overrides, recipe_configs
    out = os.path.abspath(out)
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, 'sweep.json')
    data_root = data_root or get_world(world).data_root
    configs = recipe_configs(world)
    res = dict(runs={}, world=world)
    if os.path.isfile(path):
        with open(path) as f:
            res = json.load(f)
        if res.get('world', '64') != world:
            raise ValueError(f'{path} holds runs of the {res.get("world", "64")} px world, '
                             f'not {world}; pass another --out')
    ensure_split(data_root, 'train_base', distill_scenes, world=world)
    test = SPLITS['test']
    scenes = make_scenes(eval_scenes, test.seed, test.base_only, world=world)
    clip = tiny_clip_checkpoint(world)
    text = probe.class_embeddings(probe.load_text(clip))
    if rate_teachers and 'teacher_auc' not in res:
        res['teacher_auc'] = teacher_aucs(scenes)
        res['clip_csa'] = probe.evaluate(probe.load_visual(clip, 'csa'), text,
                                         scenes)
        save(res, out)
    plan = [(t, 0.0 if t == 'none' else w, s) for s in seeds for t in teachers
            for w in (weights if t != 'none' else [0.0])]
    for teacher, weight, seed in dict.fromkeys(plan):
        name = run_name(teacher, weight, seed)
        if name in res['runs']:
            continue
        work = os.path.join(out, name)
        opts = distill_overrides(data_root, seed, distill_scenes, epochs, lr,
                                 None if teacher == 'none' else weight, clip)
        recipe, extra = TEACHERS[teacher]
        _, secs = mj.train_detector(configs[recipe], work, dict(opts, **extra),
                                    f'distilling ({name})',
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
