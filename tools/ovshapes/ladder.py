"""The OV-Shapes ladder: the paper's claims measured in miniature, over seeds, in one command.

For the shipped tiny CLIP (``declip_mm/assets/ovshapes/tiny_clip.pt``) it measures, once
(evaluation is deterministic):

1. the gate: zero-shot crop classification, and the dense region classification / fg-mIoU of
   the ``vanilla``, ``maskclip`` (value-only) and ``csa`` modes (``probe.evaluate``);

then for every seed:

2. DeCLIP distillation on the base-only scenes (``configs/ovshapes/declip_distill_ovshapes.py``
   through ``tools/train.py``), and the same dense measurements of the distilled encoder;
3. F-ViT trained on the 24 base classes with ``tools/train.py`` and evaluated with
   ``tools/test.py`` (base / novel AP50), on the plain CLIP (``vanilla``) and on the distilled
   encoder (``csa``);
4. the training-free segmentor's fg-mIoU (``tools/test.py``), CLIP vs DeCLIP.

It writes ``<out>/ladder.json`` (every number, per seed, with wall times) and
``<out>/ladder.md`` (means and standard deviations over seeds), and draws the DeCLIP
detector's and segmentor's predictions of the first test scenes into ``<out>/pictures/``.

    python tools/ovshapes/ladder.py [--seeds 0 1 2] [--out outputs/ovshapes_ladder]
        [--no-fvit] [--fvit-iters 400] [--distill-lr 3e-4]
"""
import argparse
import json
import os
import statistics
import sys
import time
from typing import Dict, List

import main_job as mj  # tools/ovshapes/main_job.py (sets sys.path, offline, passive OpenMP)

DISTILL_CONFIG = 'configs/ovshapes/declip_distill_ovshapes.py'
DENSE_KEYS = ('all', 'base', 'novel', 'miou')


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--out', default='outputs/ovshapes_ladder')
    p.add_argument('--data-root', default='data/ovshapes')
    p.add_argument('--clip', default=None, help='tiny CLIP (default: the shipped one)')
    p.add_argument('--eval-scenes', type=int, default=1500, help='test scenes of the probes')
    p.add_argument('--distill-scenes', type=int, default=2000)
    p.add_argument('--distill-epochs', type=int, default=4, help='epochs of batch 16')
    p.add_argument('--distill-lr', type=float, default=3e-4)
    p.add_argument('--distill-config', default=DISTILL_CONFIG,
                   help='distillation config (declip_distill-context_ovshapes.py adds the '
                        'context loss with the stand-in VFM)')
    p.add_argument('--context-weight', type=float, default=None,
                   help="weight of the context loss (default: the config's)")
    p.add_argument('--no-fvit', action='store_true', help='skip the detectors')
    p.add_argument('--no-seg', action='store_true', help='skip the training-free segmentor')
    p.add_argument('--fvit-iters', type=int, default=400)
    p.add_argument('--train-scenes', type=int, default=2000, help='F-ViT training scenes')
    p.add_argument('--test-scenes', type=int, default=500, help='F-ViT / segmentor test scenes')
    p.add_argument('--pictures', type=int, default=4)
    p.add_argument('--reuse', action='store_true',
                   help='keep distilled encoders and detectors already in --out (re-evaluate)')
    return p.parse_args(argv)


def distill(args, seed: int) -> Dict[str, object]:
    """tools/train.py on the distillation config; returns the ensembled backbone's path."""
    work = os.path.abspath(os.path.join(args.out, f'seed{seed}', 'distill'))
    opts = [f'randomness.seed={seed}', f'optim_wrapper.optimizer.lr={args.distill_lr}',
            f'train_dataloader.dataset.data_root={os.path.abspath(args.data_root)}/',
            f'train_dataloader.dataset.indices={args.distill_scenes}',
            f'train_cfg.max_epochs={args.distill_epochs}',
            f'param_scheduler.1.end={args.distill_epochs}',
            f'param_scheduler.1.T_max={args.distill_epochs}',
            f'default_hooks.checkpoint.interval={args.distill_epochs}',
            f'model.student.init_cfg.checkpoint={args.clip}']
    if args.context_weight is not None:
        opts.append(f'model.context_loss.loss_weight={args.context_weight}')
    log = os.path.join(os.path.abspath(args.out), 'logs', f'seed{seed}_distill.log')
    backbone = os.path.join(work, f'declip_backbone_epoch_{args.distill_epochs}.pth')
    if args.reuse and os.path.isfile(backbone):
        return dict(backbone=backbone, distill_s=0.0)
    secs = mj.run_tool(['tools/train.py', args.distill_config, '--work-dir', work,
                        '--cfg-options', *opts], f'distilling (seed {seed})', log)
    return dict(backbone=backbone, distill_s=round(secs, 1))


def combine_clip(backbone: str, clip: str, out: str) -> str:
    """A whole CLIP state dict at ``out``: the image tower of ``backbone`` (a DeCLIPViT file)
    with the text tower of ``clip``, the form tools/test.py loads into a segmentor."""
    from declip_mm.checkpoint import read_checkpoint, visual_state_dict
    from declip_mm.engine.atomic_io import atomic_torch_save
    visual = visual_state_dict(read_checkpoint(backbone))
    whole = read_checkpoint(clip)
    whole = {k: v.float() for k, v in whole.items() if not k.startswith('visual.')}
    whole.update({k: v.float() for k, v in visual.items()})
    atomic_torch_save(whole, out)
    return out


def seg_miou(args, name: str, checkpoint: str, mode: str) -> float:
    """fg-mIoU (%) of the training-free segmentor on ``--test-scenes`` test scenes, loaded
    from a whole CLIP ``checkpoint``."""
    work = os.path.abspath(os.path.join(args.out, 'seg', name))
    root = os.path.abspath(args.data_root) + '/'
    opts = [f'model.backbone.mode={mode}',
            f'test_dataloader.dataset.data_root={root}',
            f'test_dataloader.dataset.indices={args.test_scenes}']
    log = os.path.join(os.path.abspath(args.out), 'logs', f'seg_{name}.log')
    mj.run_tool(['tools/test.py', mj.SEG_CONFIG, checkpoint, '--work-dir', work,
                 '--cfg-options', *opts], f'training-free segmentor ({name})', log)
    files = sorted((os.path.join(dp, f) for dp, _, fs in os.walk(work) for f in fs
                    if f.endswith('.json')), key=os.path.getmtime)
    with open(files[-1]) as f:
        return float(json.load(f)['mIoU'])


def fvit(args, name: str, config: str, backbone: str, seed: int) -> Dict[str, float]:
    """F-ViT trained on base classes, tested on all (``main_job.train_and_test``)."""
    ns = argparse.Namespace(out=os.path.join(args.out, f'seed{seed}'), data_root=args.data_root,
                            train_scenes=args.train_scenes, test_scenes=args.test_scenes,
                            iters=args.fvit_iters, show_scenes=0)
    extra = mj.weights_options(backbone, args.clip) + [f'randomness.seed={seed}']
    return mj.train_and_test(name, config, ns, extra, show=False, reuse=args.reuse)


def mean_std(values: List[float]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return '-'
    if len(values) == 1:
        return f'{values[0]:.1f}'
    return f'{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}'


def markdown(res: Dict[str, object]) -> str:
    """The ladder table: teacher rows once, per-seed rows as mean ± std."""
    seeds = res['seeds']
    lines = [f'OV-Shapes ladder, seeds {", ".join(str(s["seed"]) for s in seeds)} '
             f'({res["eval_scenes"]} probe scenes, {res["test_scenes"]} detector / segmentor '
             'test scenes). Accuracies and mIoU in %.', '',
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
            cols = [[100 * s['fvit'][name][k] for s in seeds
                     if s['fvit'][name].get(k) is not None]
                    for k in ('base_ap50', 'novel_ap50', 'all_ap50')]
            lines.append(f'| {label} | ' + ' | '.join(mean_std(c) for c in cols) + ' |')
    if any('seg_miou' in s for s in seeds):
        lines += ['', '| training-free segmentor | fg-mIoU |', '|---|---|',
                  f'| tiny CLIP (`csa`, undistilled) | {res["seg_clip_miou"]:.1f} |',
                  '| tiny DeCLIP (`csa`) | ' + mean_std([s['seg_miou'] for s in seeds]) + ' |']
    times = {k: mean_std([s['times'][k] for s in seeds]) for k in seeds[0]['times']}
    lines += ['', 'Wall seconds per seed (2 CPU threads): ' +
              ', '.join(f'{k} {v}' for k, v in times.items()) +
              f'; whole ladder {res.get("first_run_wall_s", res["wall_s"]) / 60:.1f} min.']
    return '\n'.join(lines)


def main(argv=None) -> None:
    args = parse_args(argv)
    t0 = time.time()
    os.chdir(mj.ROOT)
    from declip_mm.datasets.ov_shapes import SPLITS, make_scenes
    from declip_mm.datasets.ov_shapes.arch import TINY_CLIP_CHECKPOINT
    args.clip = os.path.abspath(args.clip or TINY_CLIP_CHECKPOINT)
    mj.ensure_split(args.data_root, 'train_base', max(args.distill_scenes, args.train_scenes))
    mj.ensure_split(args.data_root, 'test', args.test_scenes)
    test = SPLITS['test']
    scenes = make_scenes(args.eval_scenes, test.seed, test.base_only)
    res: Dict[str, object] = dict(eval_scenes=args.eval_scenes, test_scenes=args.test_scenes,
                                  args=vars(args), seeds=[])
    t = time.time()
    from declip_mm.datasets.ov_shapes import probe
    text_emb = probe.class_embeddings(probe.load_text(args.clip))  # shared by every student
    res['teacher'] = probe.evaluate_checkpoint(args.clip, text_emb, scenes,
                                               ['vanilla', 'maskclip', 'csa'])[0]
    res['teacher_probe_s'] = round(time.time() - t, 1)
    if not args.no_seg:
        res['seg_clip_miou'] = seg_miou(args, 'clip_csa', args.clip, 'csa')
    previous = {}  # --reuse: the times of the run that trained the reused models
    if args.reuse and os.path.isfile(os.path.join(args.out, 'ladder.json')):
        with open(os.path.join(args.out, 'ladder.json')) as f:
            old = json.load(f)
        previous = {s['seed']: s['times'] for s in old['seeds']}
        res['first_run_wall_s'] = old.get('first_run_wall_s', old['wall_s'])
    for seed in args.seeds:
        row: Dict[str, object] = dict(seed=seed, times={})
        d = distill(args, seed)
        row['backbone'], row['times']['distill'] = d['backbone'], d['distill_s']
        t = time.time()
        row['student'] = probe.evaluate_checkpoint(d['backbone'], text_emb, scenes,
                                                   ['csa', 'maskclip'], crop=False)[0]
        row['times']['probe'] = round(time.time() - t, 1)
        if not args.no_fvit:
            row['fvit'] = {}
            for name, config, backbone in (('clip_vanilla', mj.BASELINE_CONFIG, args.clip),
                                           ('declip_csa', mj.DET_CONFIG, d['backbone'])):
                row['fvit'][name] = fvit(args, name, config, backbone, seed)
                row['times'][f'fvit_{name}'] = (row['fvit'][name]['train_s'] +
                                               row['fvit'][name]['test_s'])
        if not args.no_seg:
            t = time.time()
            whole = combine_clip(d['backbone'], args.clip,
                                 os.path.join(args.out, f'seed{seed}', 'declip_clip.pt'))
            row['seg_miou'] = seg_miou(args, f'declip_seed{seed}', whole, 'csa')
            row['times']['seg'] = round(time.time() - t, 1)
        for key, secs in previous.get(seed, {}).items():
            if key in ('distill', 'fvit_clip_vanilla', 'fvit_declip_csa'):
                row['times'][key] = secs  # train + test of the first run
        res['seeds'].append(row)
        print(f'seed {seed}: csa {res["teacher"]["csa"]["all"]:.1f} -> '
              f'{row["student"]["csa"]["all"]:.1f}, fg-mIoU {res["teacher"]["csa"]["miou"]:.1f} '
              f'-> {row["student"]["csa"]["miou"]:.1f}', flush=True)
    if not args.no_fvit and args.pictures:
        last = res['seeds'][-1]
        pic_args = argparse.Namespace(data_root=args.data_root, pictures=args.pictures,
                                      out=args.out)
        res['pictures'] = mj.draw_pictures(pic_args, last['fvit']['declip_csa']['checkpoint'],
                                           mj.weights_options(last['backbone'], args.clip))
    res['wall_s'] = round(time.time() - t0, 1)
    from declip_mm.engine.atomic_io import atomic_write_text
    os.makedirs(args.out, exist_ok=True)
    atomic_write_text(os.path.join(args.out, 'ladder.json'), json.dumps(res, indent=2))
    table = markdown(res)
    atomic_write_text(os.path.join(args.out, 'ladder.md'), table + '\n')
    print('\n' + table)


if __name__ == '__main__':
    main()
