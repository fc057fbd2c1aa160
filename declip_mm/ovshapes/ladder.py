"""The OV-Shapes ladder: the paper's claims measured in miniature, over seeds, in one call.

For the shipped tiny CLIP (``declip_mm/assets/ovshapes/tiny_clip.pt``) it measures, once
(evaluation is deterministic):

1. the gate: zero-shot crop classification, and the dense region classification / fg-mIoU of
   the ``vanilla``, ``maskclip`` (value-only) and ``csa`` modes (``probe.evaluate``);

then for every seed:

2. DeCLIP distillation on the base-only scenes (``configs/ovshapes/declip_distill_ovshapes.py``
   through ``declip_mm.apis.train``), and the same dense measurements of the distilled encoder;
3. F-ViT trained on the 24 base classes and evaluated (base / novel AP50), on the plain CLIP
   (``vanilla``) and on the distilled encoder (``csa``) (``main_job.train_and_test``);
4. the training-free segmentor's fg-mIoU (``declip_mm.apis.test``), CLIP vs DeCLIP.

``world`` picks the scenes and every config (``recipes``): the 64 px world or the 128 px one.
It writes ``<out>/ladder.json`` (every number, per seed, with wall times) and
``<out>/ladder.md`` (means and standard deviations over seeds), and draws the DeCLIP
detector's and segmentor's predictions of the first test scenes into ``<out>/pictures/``.
"""
import dataclasses
import json
import os
import statistics
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from . import main_job as mj
from .recipes import distill_overrides, recipe_config

DENSE_KEYS = ('all', 'base', 'novel', 'miou')


@dataclass
class LadderOptions:
    """The ladder's settings (``tools/ovshapes/ladder.py --help``)."""
    seeds: List[int] = field(default_factory=lambda: [0, 1, 2])
    out: str = 'outputs/ovshapes_ladder'
    world: str = '64'
    data_root: Optional[str] = None
    clip: Optional[str] = None
    eval_scenes: int = 1500
    distill_scenes: int = 2000
    distill_epochs: int = 4
    distill_lr: float = 3e-4
    distill_config: Optional[str] = None
    context_weight: Optional[float] = None
    no_fvit: bool = False
    no_baseline: bool = False
    no_seg: bool = False
    fvit_iters: int = 400
    train_scenes: int = 2000
    test_scenes: int = 500
    pictures: int = 4
    reuse: bool = False


def distill(opts: LadderOptions, seed: int) -> Dict[str, object]:
    """Distil the tiny CLIP (``opts.distill_config``) with ``seed``; returns the ensembled
    backbone's path (``declip_backbone_epoch_N.pth``) and the wall seconds."""
    work = os.path.abspath(os.path.join(opts.out, f'seed{seed}', 'distill'))
    options = distill_overrides(opts.data_root, seed, opts.distill_scenes, opts.distill_epochs,
                                opts.distill_lr, opts.context_weight, opts.clip)
    log = os.path.join(os.path.abspath(opts.out), 'logs', f'seed{seed}_distill.log')
    backbone = os.path.join(work, f'declip_backbone_epoch_{opts.distill_epochs}.pth')
    if opts.reuse and os.path.isfile(backbone):
        return dict(backbone=backbone, distill_s=0.0)
    _, secs = mj.train_detector(opts.distill_config, work, options, f'distilling (seed {seed})',
                                log)
    return dict(backbone=backbone, distill_s=round(secs, 1))


def combine_clip(backbone: str, clip: str, out: str) -> str:
    """A whole CLIP state dict at ``out``: the image tower of ``backbone`` (a DeCLIPViT file)
    with the text tower of ``clip``, the form a segmentor test loads."""
    from ..checkpoint import read_checkpoint, visual_state_dict
    from ..engine.atomic_io import atomic_torch_save
    visual = visual_state_dict(read_checkpoint(backbone))
    whole = read_checkpoint(clip)
    whole = {k: v.float() for k, v in whole.items() if not k.startswith('visual.')}
    whole.update({k: v.float() for k, v in visual.items()})
    atomic_torch_save(whole, out)
    return out


def seg_miou(opts: LadderOptions, name: str, checkpoint: str, mode: str) -> float:
    """fg-mIoU (%) of the training-free segmentor on ``opts.test_scenes`` test scenes, loaded
    from a whole CLIP ``checkpoint``."""
    work = os.path.abspath(os.path.join(opts.out, 'seg', name))
    options = {'model.backbone.mode': mode,
               'test_dataloader.dataset.data_root': os.path.abspath(opts.data_root) + '/',
               'test_dataloader.dataset.indices': opts.test_scenes}
    log = os.path.join(os.path.abspath(opts.out), 'logs', f'seg_{name}.log')
    metrics, _ = mj.test_checkpoint(recipe_config('seg', opts.world), checkpoint, work, options,
                                    f'training-free segmentor ({name})', log)
    return float(metrics['mIoU'])


def fvit(opts: LadderOptions, name: str, config: str, backbone: str, seed: int) -> dict:
    """F-ViT trained on base classes, tested on all (``main_job.train_and_test``)."""
    extra = {**mj.weights_options(backbone, opts.clip), 'randomness.seed': seed}
    return mj.train_and_test(name, config, os.path.join(opts.out, f'seed{seed}'), opts.data_root,
                             opts.train_scenes, opts.test_scenes, opts.fvit_iters, extra,
                             reuse=opts.reuse)


def mean_std(values: List[float]) -> str:
    """``'m ± s'`` over the values that are not None (one value: itself; none: ``-``)."""
    values = [v for v in values if v is not None]
    if not values:
        return '-'
    if len(values) == 1:
        return f'{values[0]:.1f}'
    return f'{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}'


def markdown(res: Dict[str, object]) -> str:
    """The ladder table: teacher rows once, per-seed rows as mean ± std."""
    seeds = res['seeds']
    args = res.get('args', {})
    recipe = os.path.basename(args.get('distill_config') or 'declip_distill_ovshapes.py')
    if args.get('context_weight') is not None:
        recipe += f', context weight {args["context_weight"]:g}'
    lines = [f'OV-Shapes ladder, {args.get("world", "64")} px world, distilled with {recipe}, '
             f'seeds {", ".join(str(s["seed"]) for s in seeds)} ({res["eval_scenes"]} probe '
             f'scenes, {res["test_scenes"]} detector / segmentor test scenes). Accuracies and '
             'mIoU in %.', '',
             '| encoder | region acc. all | base | novel | fg-mIoU |', '|---|---|---|---|---|']
    for name, row in res['teacher'].items():
        miou = f'{row["miou"]:.1f}' if 'miou' in row else '-'
        label = 'tiny CLIP, crops (gate)' if name == 'crop' else f'tiny CLIP, dense `{name}`'
        lines.append(f'| {label} | {row["all"]:.1f} | {row["base"]:.1f} | {row["novel"]:.1f} '
                     f'| {miou} |')
    for mode in ('csa', 'maskclip'):
        vals = {k: [s['student'][mode][k] for s in seeds] for k in DENSE_KEYS}
        lines.append(f'| DeCLIP-distilled, dense `{mode}` | ' +
                     ' | '.join(mean_std(vals[k]) for k in DENSE_KEYS) + ' |')
    if any('fvit' in s for s in seeds):
        lines += ['', '| F-ViT backbone (trained on base boxes) | base AP50 | novel AP50 | '
                  'all AP50 |', '|---|---|---|---|']
        for name, label in (('clip_vanilla', 'tiny CLIP (`vanilla`)'),
                            ('declip_csa', 'tiny DeCLIP (`csa`)')):
            if not all(name in s['fvit'] for s in seeds):
                continue
            cols = [[100 * s['fvit'][name][k] for s in seeds
                     if s['fvit'][name].get(k) is not None]
                    for k in ('base_ap50', 'novel_ap50', 'all_ap50')]
            lines.append(f'| {label} | ' + ' | '.join(mean_std(c) for c in cols) + ' |')
    if any('seg_miou' in s for s in seeds):
        lines += ['', '| training-free segmentor | fg-mIoU |', '|---|---|',
                  f'| tiny CLIP (`csa`, undistilled) | {res["seg_clip_miou"]:.1f} |',
                  '| tiny DeCLIP (`csa`) | ' + mean_std([s['seg_miou'] for s in seeds]) + ' |']
    steps = dict.fromkeys(k for s in seeds for k in s['times'])  # a step some seeds skipped
    times = {k: mean_std([s['times'][k] for s in seeds if k in s['times']]) for k in steps}
    lines += ['', 'Wall seconds per seed (2 CPU threads): ' +
              ', '.join(f'{k} {v}' for k, v in times.items()) +
              f'; whole ladder {res.get("first_run_wall_s", res["wall_s"]) / 60:.1f} min.']
    return '\n'.join(lines)


def previous_times(opts: LadderOptions, res: Dict[str, object]) -> Dict[int, dict]:
    """``reuse``: the per-seed times of the run that trained the reused models (and its wall
    time into ``res['first_run_wall_s']``)."""
    path = os.path.join(opts.out, 'ladder.json')
    if not (opts.reuse and os.path.isfile(path)):
        return {}
    with open(path) as f:
        old = json.load(f)
    res['first_run_wall_s'] = old.get('first_run_wall_s', old['wall_s'])
    return {s['seed']: s['times'] for s in old['seeds']}


def run_seed(opts: LadderOptions, seed: int, text_emb, scenes, previous: dict) -> dict:
    """Steps 2-4 for one seed: distillation, dense probes, detectors, segmentor."""
    from . import probe
    row: Dict[str, object] = dict(seed=seed, times={})
    d = distill(opts, seed)
    row['backbone'], row['times']['distill'] = d['backbone'], d['distill_s']
    t = time.time()
    row['student'] = probe.evaluate_checkpoint(d['backbone'], text_emb, scenes,
                                               ['csa', 'maskclip'], crop=False)[0]
    row['times']['probe'] = round(time.time() - t, 1)
    if not opts.no_fvit:
        row['fvit'] = {}
        runs = [('clip_vanilla', 'baseline', opts.clip), ('declip_csa', 'det', d['backbone'])]
        for name, recipe, backbone in runs[opts.no_baseline:]:
            config = recipe_config(recipe, opts.world)
            row['fvit'][name] = fvit(opts, name, config, backbone, seed)
            row['times'][f'fvit_{name}'] = (row['fvit'][name]['train_s'] +
                                           row['fvit'][name]['test_s'])
    if not opts.no_seg:
        t = time.time()
        whole = combine_clip(d['backbone'], opts.clip,
                             os.path.join(opts.out, f'seed{seed}', 'declip_clip.pt'))
        row['seg_miou'] = seg_miou(opts, f'declip_seed{seed}', whole, 'csa')
        row['times']['seg'] = round(time.time() - t, 1)
    for key, secs in previous.get(seed, {}).items():
        if key in ('distill', 'fvit_clip_vanilla', 'fvit_declip_csa'):
            row['times'][key] = secs  # train + test of the first run
    return row


def run_ladder(opts: LadderOptions) -> dict:
    """Run the ladder; write ``opts.out/ladder.{json,md}`` and return the results."""
    from ..datasets.ov_shapes import SPLITS, get_world, make_scenes
    from ..datasets.ov_shapes.arch import tiny_clip_checkpoint
    from ..engine.atomic_io import atomic_write_text
    from . import probe
    from .data import ensure_split
    t0 = time.time()
    opts = dataclasses.replace(
        opts, clip=os.path.abspath(opts.clip or tiny_clip_checkpoint(opts.world)),
        data_root=opts.data_root or get_world(opts.world).data_root,
        distill_config=opts.distill_config or recipe_config('content', opts.world))
    ensure_split(opts.data_root, 'train_base', max(opts.distill_scenes, opts.train_scenes),
                 world=opts.world)
    ensure_split(opts.data_root, 'test', opts.test_scenes, world=opts.world)
    test = SPLITS['test']
    scenes = make_scenes(opts.eval_scenes, test.seed, test.base_only, world=opts.world)
    res: Dict[str, object] = dict(eval_scenes=opts.eval_scenes, test_scenes=opts.test_scenes,
                                  args=dataclasses.asdict(opts), seeds=[])
    t = time.time()
    text_emb = probe.class_embeddings(probe.load_text(opts.clip))  # shared by every student
    res['teacher'] = probe.evaluate_checkpoint(opts.clip, text_emb, scenes,
                                               ['vanilla', 'maskclip', 'csa'])[0]
    res['teacher_probe_s'] = round(time.time() - t, 1)
    if not opts.no_seg:
        res['seg_clip_miou'] = seg_miou(opts, 'clip_csa', opts.clip, 'csa')
    previous = previous_times(opts, res)
    for seed in opts.seeds:
        row = run_seed(opts, seed, text_emb, scenes, previous)
        res['seeds'].append(row)
        print(f'seed {seed}: csa {res["teacher"]["csa"]["all"]:.1f} -> '
              f'{row["student"]["csa"]["all"]:.1f}, fg-mIoU {res["teacher"]["csa"]["miou"]:.1f} '
              f'-> {row["student"]["csa"]["miou"]:.1f}', flush=True)
    if not opts.no_fvit and opts.pictures:
        last = res['seeds'][-1]
        res['pictures'] = mj.draw_pictures(opts.data_root, opts.pictures, opts.out,
                                           last['fvit']['declip_csa']['checkpoint'],
                                           mj.weights_options(last['backbone'], opts.clip),
                                           opts.world)
    res['wall_s'] = round(time.time() - t0, 1)
    os.makedirs(opts.out, exist_ok=True)
    atomic_write_text(os.path.join(opts.out, 'ladder.json'), json.dumps(res, indent=2))
    table = markdown(res)
    atomic_write_text(os.path.join(opts.out, 'ladder.md'), table + '\n')
    print('\n' + table)
    return res
