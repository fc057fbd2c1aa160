"""The main job (``bash tools/run_main.sh``): open-vocabulary detection on OV-Shapes, offline.

1. makes the OV-Shapes scenes it needs (``data/ovshapes/{train_base,test}``, kept for reuse);
2. trains the F-ViT detector (``configs/ovshapes/fvit_tiny-declip_ovshapes.py``, the OV-COCO
   config on the tiny DeCLIP encoder) on the 24 base classes with ``tools/train.py``;
3. evaluates it with ``tools/test.py`` on test scenes of all 30 classes (base and novel AP50,
   mmdet's ``OVCocoMetric``), and draws mmdet's test pictures of the first scenes with
   ``tools/test.py --show-dir``;
4. draws prediction pictures with ``tools/demo.py``'s functions (detection, and the
   training-free segmentor: words in, masks out);
5. if the time budget allows, trains and evaluates the same detector on the plain tiny CLIP
   (``configs/ovshapes/fvit_tiny-clip_ovshapes.py``) and prints both side by side.

Every step shows a progress bar; the tools' own logs go to ``<out>/logs/``. Results:
``<out>/metrics.json``, ``<out>/pictures/`` and the test pictures of ``--show-dir`` in
``<out>/declip_csa/vis/``.

    python tools/ovshapes/main_job.py [--out outputs/main_job] [--iters 400]
        [--train-scenes 2000] [--test-scenes 500] [--baseline auto|always|never]
        [--clip TINY_CLIP.pt] [--declip TINY_DECLIP.pt]
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import time
from typing import Dict, List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, 'tools'))
os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # no spinning threads on a shared CPU

DET_CONFIG = 'configs/ovshapes/fvit_tiny-declip_ovshapes.py'
BASELINE_CONFIG = 'configs/ovshapes/fvit_tiny-clip_ovshapes.py'
SEG_CONFIG = 'configs/ovshapes/seg_training-free_tiny-declip_ovshapes.py'
# 'Iter(train) [i/n]' (iteration loops) or 'Epoch(train) [e][i/n]' (epoch loops)
ITER_RE = re.compile(r'(?:Iter|Epoch)\((train|test|val)\)\s*(\[\s*\d+\])?\s*\[\s*(\d+)/(\d+)\]')
METRIC_KEYS = ('coco/base_ap50', 'coco/novel_ap50', 'coco/bbox_mAP_50')


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', default='outputs/main_job', help='results folder')
    p.add_argument('--data-root', default='data/ovshapes', help='OV-Shapes folder')
    p.add_argument('--train-scenes', type=int, default=2000, help='train_base scenes used')
    p.add_argument('--test-scenes', type=int, default=500, help='test scenes evaluated')
    p.add_argument('--iters', type=int, default=400, help='training iterations (batch 8)')
    p.add_argument('--pictures', type=int, default=8, help='scenes drawn into pictures/')
    p.add_argument('--show-scenes', type=int, default=16,
                   help='test scenes drawn by tools/test.py --show-dir (mmdet draws about 6 '
                        'pictures a second, so not all of them)')
    p.add_argument('--baseline', choices=['auto', 'always', 'never'], default='auto',
                   help='also train the plain-CLIP detector (auto: if the budget allows)')
    p.add_argument('--budget-min', type=float, default=10.0,
                   help='time budget (minutes) that --baseline auto respects')
    p.add_argument('--clip', default=None,
                   help='tiny CLIP checkpoint (default: the shipped tiny_clip.pt)')
    p.add_argument('--declip', default=None,
                   help='distilled tiny DeCLIP encoder (default: the shipped tiny_declip.pt)')
    return p.parse_args(argv)


# --------------------------------------------------------------------------- small pieces
def bar(total: int, desc: str):
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit='it', dynamic_ncols=True, file=sys.stdout)


def split_size(split_dir: str) -> int:
    """Number of scenes a written split holds (0 if none)."""
    try:
        with open(os.path.join(split_dir, 'annotations.json')) as f:
            return len(json.load(f)['images'])
    except (OSError, ValueError, KeyError):
        return 0


def ensure_split(root: str, name: str, n: int) -> int:
    """Make sure ``root/name`` holds at least the first ``n`` scenes of the split; returns the
    number it holds (an existing larger split is reused; scenes are deterministic)."""
    from declip_mm.datasets.ov_shapes import SPLITS, write_split
    have = split_size(os.path.join(root, name))
    if have >= n:
        print(f'{name}: reusing {have} scenes in {root}/{name}')
        return have
    spec = SPLITS[name]
    with bar(n, f'making {name} scenes') as pbar:
        def wrap(it):
            for i in it:
                yield i
                pbar.update(1)
        write_split(os.path.join(root, name), n, spec.seed, spec.base_only, wrap=wrap)
    return n


def run_tool(args: List[str], desc: str, log_path: str) -> float:
    """Run ``python tools/...`` with a progress bar fed by its ``Iter(...) [i/n]`` log lines;
    the full output goes to ``log_path``. Returns the wall time; raises on failure."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    t0, pbar, phase = time.time(), None, None
    with open(log_path, 'w') as log:
        proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=1)
        for line in proc.stdout:
            log.write(line)
            m = ITER_RE.search(line)
            if not m:
                continue
            key = m.group(1, 2)  # one bar per loop (train, then test) and per epoch
            if key != phase:
                if pbar is not None:
                    pbar.close()
                epoch = f' epoch {m.group(2).strip("[ ]")}' if m.group(2) else ''
                phase, pbar = key, bar(int(m.group(4)), desc + epoch)
            pbar.update(int(m.group(3)) - pbar.n)
        proc.wait()
    if pbar is not None:
        pbar.close()
    if proc.returncode != 0:
        with open(log_path) as f:
            tail = f.read()[-3000:]
        raise RuntimeError(f'{desc} failed (exit {proc.returncode}); log: {log_path}\n{tail}')
    return time.time() - t0


def read_test_metrics(work_dir: str) -> Dict[str, float]:
    """The metrics ``tools/test.py`` wrote to ``work_dir/<time>/<time>.json``."""
    files = sorted(glob.glob(os.path.join(work_dir, '*', '*.json')), key=os.path.getmtime)
    if not files:
        raise RuntimeError(f'no metrics json under {work_dir}')
    with open(files[-1]) as f:
        metrics = json.load(f)
    return {k: float(metrics[k]) for k in METRIC_KEYS if k in metrics}


def first_scenes_annotations(root: str, split: str, n: int) -> str:
    """Path of a COCO json holding exactly the first ``n`` scenes of ``root/split``.

    mmdet's ``CocoMetric`` scores every image of its ``ann_file``: evaluating ``n`` scenes
    against a larger split's json would count the others' objects as missed. The whole
    ``annotations.json`` is returned when it holds ``n`` scenes; otherwise a trimmed copy
    ``annotations_first<n>.json`` is written next to it (once).
    """
    full = os.path.join(root, split, 'annotations.json')
    with open(full) as f:
        coco = json.load(f)
    if len(coco['images']) <= n:
        return full
    path = os.path.join(root, split, f'annotations_first{n}.json')
    if not os.path.isfile(path):
        images = coco['images'][:n]
        keep = {im['id'] for im in images}
        coco = dict(coco, images=images,
                    annotations=[a for a in coco['annotations'] if a['image_id'] in keep])
        from declip_mm.engine.atomic_io import atomic_write_text
        atomic_write_text(path, json.dumps(coco))
    return path


def data_options(root: str, n_train: int, n_test: int) -> Dict[str, List[str]]:
    """``--cfg-options`` pointing the configs at ``root`` and the scene counts, for training
    (no validation inside: tools/test.py evaluates the final checkpoint once) and testing
    (dataset and metric on the same ``n_test`` scenes)."""
    root = os.path.abspath(root) + '/'
    test_ann = first_scenes_annotations(root, 'test', n_test)
    return dict(
        train=[f'train_dataloader.dataset.data_root={root}',
               f'train_dataloader.dataset.indices={n_train}',
               'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None'],
        test=[f'test_dataloader.dataset.data_root={root}',
              f'test_dataloader.dataset.ann_file={test_ann}',
              f'test_evaluator.ann_file={test_ann}'])


def teacher_mismatch(declip: str, clip: str) -> Optional[str]:
    """A warning if ``declip`` records (``meta.teacher_sha256``) another tiny CLIP than ``clip``."""
    from declip_mm.checkpoint import inspect_checkpoint
    from declip_mm.datasets.ov_shapes.arch import file_sha256
    meta = inspect_checkpoint(declip).get('meta', {})
    want = meta.get('teacher_sha256')
    have = file_sha256(clip)
    if want is None or want == have:
        return None
    return (f'WARNING: {os.path.relpath(declip)} was distilled from another tiny CLIP '
            f'(sha256 {want[:12]}, this one is {have[:12]}); re-run the distillation '
            '(docs/getting_started.md, section 5)')


def weights_options(backbone: str, text: str) -> List[str]:
    """``--cfg-options`` loading the backbone and the text tower from these files."""
    return [f'model.backbone.init_cfg.checkpoint={os.path.abspath(backbone)}',
            f'model.text_encoder.init_cfg.checkpoint={os.path.abspath(text)}']


def train_and_test(name: str, config: str, args, extra: List[str], show: bool,
                   reuse: bool = False) -> dict:
    """tools/train.py then tools/test.py for one detector; returns its metrics and times.
    ``reuse``: keep a checkpoint already trained in the output folder (train_s is then 0)."""
    out = os.path.abspath(os.path.join(args.out, name))
    opts = data_options(args.data_root, args.train_scenes, args.test_scenes)
    train_opts = opts['train'] + extra + [f'train_cfg.max_iters={args.iters}',
                                          f'train_cfg.val_interval={args.iters}',
                                          f'default_hooks.checkpoint.interval={args.iters}']
    logs = os.path.join(os.path.abspath(args.out), 'logs')
    ckpt = os.path.join(out, f'iter_{args.iters}.pth')
    t_train = 0.0
    if not (reuse and os.path.isfile(ckpt)):
        t_train = run_tool(['tools/train.py', config, '--work-dir', out, '--cfg-options',
                            *train_opts], f'training F-ViT ({name})',
                           os.path.join(logs, f'{name}_train.log'))
    test = ['tools/test.py', config, ckpt, '--work-dir', os.path.join(out, 'test')]
    t_test = run_tool(test + ['--cfg-options', *opts['test'], *extra], f'testing F-ViT ({name})',
                      os.path.join(logs, f'{name}_test.log'))
    metrics = read_test_metrics(os.path.join(out, 'test'))
    if show:  # mmdet's own test pictures (ground truth | prediction) of the first scenes
        shown = data_options(args.data_root, args.train_scenes, args.show_scenes)['test']
        run_tool(['tools/test.py', config, ckpt, '--work-dir', os.path.join(out, 'show'),
                  '--show-dir', os.path.join(out, 'vis'), '--cfg-options', *shown, *extra],
                 f'tools/test.py --show-dir ({name})', os.path.join(logs, f'{name}_show.log'))
    return dict(checkpoint=ckpt, train_s=round(t_train, 1), test_s=round(t_test, 1),
                base_ap50=metrics.get('coco/base_ap50'), novel_ap50=metrics.get('coco/novel_ap50'),
                all_ap50=metrics.get('coco/bbox_mAP_50'))


def draw_pictures(args, det_ckpt: str, extra: List[str]) -> List[str]:
    """Detection and training-free segmentation pictures of the first test scenes."""
    import demo as demo_tool
    from mmengine.config import Config
    from mmengine.logging import MMLogger
    from declip_mm.datasets.ov_shapes import CLASSES
    MMLogger.get_instance('mmengine', log_level='WARNING')
    images = [os.path.join(args.data_root, 'test', 'images', f'{i:06d}.png')
              for i in range(args.pictures)]
    out_dir = os.path.join(args.out, 'pictures')
    paths = []
    det_cfg = Config.fromfile(os.path.join(ROOT, DET_CONFIG))
    seg_cfg = Config.fromfile(os.path.join(ROOT, SEG_CONFIG))
    for cfg in (det_cfg, seg_cfg):
        cfg.merge_from_dict(dict(o.split('=', 1) for o in extra))
    with bar(2 * len(images), 'drawing pictures') as pbar:  # one model build per config
        paths += demo_tool.demo(images, list(CLASSES), det_cfg, det_ckpt,
                                os.path.join(out_dir, 'detection'), score_thr=0.3,
                                draw_size=256)
        pbar.update(len(images))
        paths += demo_tool.demo(images, list(CLASSES), seg_cfg, None,
                                os.path.join(out_dir, 'segmentation'), seg_thr=0.5,
                                draw_size=256)
        pbar.update(len(images))
    return paths


def fmt(v: Optional[float]) -> str:
    return '  -  ' if v is None else f'{100 * v:5.1f}'


def table(results: Dict[str, dict]) -> str:
    rows = ['| detector backbone | base AP50 | novel AP50 | all AP50 | train s | test s |',
            '|---|---|---|---|---|---|']
    for name, r in results.items():
        if 'skipped' in r:
            rows.append(f'| {name} | skipped: {r["skipped"]} | | | | |')
            continue
        rows.append(f'| {name} | {fmt(r["base_ap50"])} | {fmt(r["novel_ap50"])} | '
                    f'{fmt(r["all_ap50"])} | {r["train_s"]:.0f} | {r["test_s"]:.0f} |')
    return '\n'.join(rows)


# --------------------------------------------------------------------------- the job
def main(argv=None) -> None:
    args = parse_args(argv)
    t0 = time.time()
    os.chdir(ROOT)
    from declip_mm.datasets.ov_shapes.arch import ASSET_DIR, TINY_CLIP_CHECKPOINT
    clip = os.path.abspath(args.clip or TINY_CLIP_CHECKPOINT)
    declip = os.path.abspath(args.declip or os.path.join(ASSET_DIR, 'tiny_declip.pt'))
    if not os.path.isfile(clip):
        sys.exit(f'error: the tiny CLIP checkpoint is missing: {clip}')
    if os.path.isfile(declip):
        notes = [f'DeCLIP backbone: the distilled tiny encoder {os.path.relpath(declip)} '
                 '(csa mode); plain-CLIP baseline: the tiny CLIP (vanilla mode)']
        extra = weights_options(declip, clip)
        warning = teacher_mismatch(declip, clip)
        if warning:
            notes.append(warning)
    else:
        notes = [f'NOTE: no distilled tiny DeCLIP encoder at {os.path.relpath(declip)}; the '
                 '"declip_csa" row runs the undistilled tiny CLIP in csa mode']
        extra = weights_options(clip, clip)
    print('\n'.join(notes))
    n_train = ensure_split(args.data_root, 'train_base', args.train_scenes)
    n_test = ensure_split(args.data_root, 'test', args.test_scenes)
    results = {'declip_csa': train_and_test('declip_csa', DET_CONFIG, args, extra, show=True)}
    pictures = draw_pictures(args, results['declip_csa']['checkpoint'], extra)
    main_s = time.time() - t0
    run_s = results['declip_csa']['train_s'] + results['declip_csa']['test_s']
    wanted = args.baseline == 'always' or (
        args.baseline == 'auto' and main_s + run_s <= 60 * args.budget_min)
    if wanted:
        results['clip_vanilla'] = train_and_test('clip_vanilla', BASELINE_CONFIG, args,
                                                 weights_options(clip, clip), show=False)
    else:
        why = ('--baseline never' if args.baseline == 'never' else
               f'{main_s:.0f} s spent, ~{run_s:.0f} s more would pass the '
               f'{args.budget_min:g} min budget; run with --baseline always')
        results['clip_vanilla'] = dict(skipped=why)
    wall = time.time() - t0
    summary = dict(results=results, notes=notes, wall_s=round(wall, 1),
                   scenes=dict(train_base=args.train_scenes, test=args.test_scenes,
                               on_disk=dict(train_base=n_train, test=n_test)),
                   iters=args.iters, batch_size=8, pictures=pictures,
                   show_dir=os.path.join(args.out, 'declip_csa', 'vis'))
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, 'metrics.json')
    from declip_mm.engine.atomic_io import atomic_write_text
    atomic_write_text(path, json.dumps(summary, indent=2))
    print(f'\nOV-Shapes open-vocabulary detection ({args.test_scenes} test scenes; '
          f'24 base classes trained, 6 novel never seen as boxes):')
    print(table(results))
    print(f'\nmetrics: {path}\npictures: {os.path.join(args.out, "pictures")}/'
          f'{{detection,segmentation}}/ and {summary["show_dir"]}/')
    print(f'wall time: {wall / 60:.1f} min')


if __name__ == '__main__':
    main()
