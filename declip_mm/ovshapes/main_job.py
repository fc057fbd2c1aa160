"""The main job (``bash tools/run_main.sh``): open-vocabulary detection on OV-Shapes, offline.

1. makes the OV-Shapes scenes it needs (``data/ovshapes/{train_base,test}``, kept for reuse);
2. trains the F-ViT detector (``configs/ovshapes/fvit_tiny-declip_ovshapes.py``, the OV-COCO
   config on the tiny DeCLIP encoder) on the 24 base classes (``declip_mm.apis.train``);
3. evaluates it (``declip_mm.apis.test``, whose metrics it reads) on test scenes of all 30
   classes (base and novel AP50, mmdet's ``OVCocoMetric``), and draws mmdet's test pictures of
   the first scenes (``show_dir``);
4. draws prediction pictures with ``declip_mm.apis.demo`` (detection, and the training-free
   segmentor: words in, masks out);
5. if the time budget allows, trains and evaluates the same detector on the plain tiny CLIP
   (``configs/ovshapes/fvit_tiny-clip_ovshapes.py``) and prints both side by side.

Training and testing run in this process, each with a progress bar; the runner's own log of
each goes to ``<out>/logs/``. Results: ``<out>/metrics.json``, ``<out>/pictures/`` and the
test pictures in ``<out>/declip_csa/vis/``.
"""
import json
import os
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from ..utils.package_paths import repository_path
from .recipes import recipe_config

DET_CONFIG = recipe_config('det')
BASELINE_CONFIG = recipe_config('baseline')
SEG_CONFIG = recipe_config('seg')
METRIC_KEYS = ('coco/base_ap50', 'coco/novel_ap50', 'coco/bbox_mAP_50')
Options = Dict[str, Any]


@dataclass
class MainJobOptions:
    """The main job's settings (``tools/ovshapes/main_job.py --help``)."""
    out: str = 'outputs/main_job'
    data_root: str = 'data/ovshapes'
    train_scenes: int = 2000
    test_scenes: int = 500
    iters: int = 400
    pictures: int = 8
    show_scenes: int = 16
    baseline: str = 'auto'
    budget_min: float = 10.0
    clip: Optional[str] = None
    declip: Optional[str] = None


def data_options(root: str, n_train: int, n_test: int) -> Dict[str, Options]:
    """Config overrides pointing the configs at ``root`` and the scene counts, for training
    (no validation inside: the final checkpoint is evaluated once) and testing (dataset and
    metric on the same ``n_test`` scenes)."""
    from .data import first_scenes_annotations
    root = os.path.abspath(root) + '/'
    test_ann = first_scenes_annotations(root, 'test', n_test)
    return dict(
        train={'train_dataloader.dataset.data_root': root,
               'train_dataloader.dataset.indices': n_train,
               'val_cfg': None, 'val_dataloader': None, 'val_evaluator': None},
        test={'test_dataloader.dataset.data_root': root,
              'test_dataloader.dataset.ann_file': test_ann,
              'test_evaluator.ann_file': test_ann})


def weights_options(backbone: str, text: str) -> Options:
    """Config overrides loading the backbone and the text tower from these files."""
    return {'model.backbone.init_cfg.checkpoint': os.path.abspath(backbone),
            'model.text_encoder.init_cfg.checkpoint': os.path.abspath(text)}


def teacher_mismatch(declip: str, clip: str) -> Optional[str]:
    """A warning if ``declip`` records (``meta.teacher_sha256``) another tiny CLIP than
    ``clip``."""
    from ..checkpoint import inspect_checkpoint
    from ..datasets.ov_shapes.arch import file_sha256
    meta = inspect_checkpoint(declip).get('meta', {})
    want = meta.get('teacher_sha256')
    have = file_sha256(clip)
    if want is None or want == have:
        return None
    return (f'WARNING: {os.path.relpath(declip)} was distilled from another tiny CLIP '
            f'(sha256 {want[:12]}, this one is {have[:12]}); re-run the distillation '
            '(docs/getting_started.md, section 5)')


def train_detector(config: str, work_dir: str, options: Options, desc: str,
                   log: str) -> tuple:
    """Train ``config`` in this process (log in ``log``); returns ``(the last checkpoint,
    wall seconds)``."""
    from ..apis import train, train_config
    from .progress import isolate_run
    cfg = train_config(repository_path(config), work_dir, cfg_options=options)
    isolate_run(cfg, 'train')
    result, secs = _logged(lambda hooks: train(cfg, hooks=hooks), desc, log)
    return result.checkpoint, secs


def test_checkpoint(config: str, checkpoint: str, work_dir: str, options: Options, desc: str,
                    log: str, show_dir: Optional[str] = None) -> tuple:
    """Test ``checkpoint`` in this process; returns ``(metrics, wall seconds)``."""
    from ..apis import test, test_config
    from .progress import isolate_run
    cfg = test_config(repository_path(config), work_dir, show_dir=show_dir, cfg_options=options)
    isolate_run(cfg, 'test')
    return _logged(lambda hooks: test(cfg, checkpoint, hooks=hooks), desc, log)


def _logged(fn, desc: str, log: str):
    from .progress import logged_run
    return logged_run(fn, desc, log)


def train_and_test(name: str, config: str, out: str, data_root: str, train_scenes: int,
                   test_scenes: int, iters: int, extra: Options, show_scenes: int = 0,
                   reuse: bool = False) -> dict:
    """Train one detector on base classes and test it on all; returns its metrics and times.

    Args:
        name: row name; the run goes to ``out/name`` and its logs to ``out/logs``.
        config: detector config.
        extra: config overrides for both (weights, seed).
        show_scenes: also draw mmdet's test pictures of this many first scenes (0: none).
        reuse: keep a checkpoint already trained in the output folder (``train_s`` is then 0).
    """
    work = os.path.abspath(os.path.join(out, name))
    logs = os.path.join(os.path.abspath(out), 'logs')
    opts = data_options(data_root, train_scenes, test_scenes)
    train_opts = {**opts['train'], **extra, 'train_cfg.max_iters': iters,
                  'train_cfg.val_interval': iters, 'default_hooks.checkpoint.interval': iters}
    ckpt = os.path.join(work, f'iter_{iters}.pth')  # the checkpoint interval is ``iters``
    t_train = 0.0
    if not (reuse and os.path.isfile(ckpt)):
        ckpt, t_train = train_detector(config, work, train_opts, f'training F-ViT ({name})',
                                       os.path.join(logs, f'{name}_train.log'))
    metrics, t_test = test_checkpoint(config, ckpt, os.path.join(work, 'test'),
                                      {**opts['test'], **extra}, f'testing F-ViT ({name})',
                                      os.path.join(logs, f'{name}_test.log'))
    if show_scenes:  # mmdet's own test pictures (ground truth | prediction) of the first scenes
        shown = data_options(data_root, train_scenes, show_scenes)['test']
        test_checkpoint(config, ckpt, os.path.join(work, 'show'), {**shown, **extra},
                        f'test pictures ({name})', os.path.join(logs, f'{name}_show.log'),
                        show_dir=os.path.join(work, 'vis'))
    return dict(checkpoint=ckpt, train_s=round(t_train, 1), test_s=round(t_test, 1),
                base_ap50=_metric(metrics, 'coco/base_ap50'),
                novel_ap50=_metric(metrics, 'coco/novel_ap50'),
                all_ap50=_metric(metrics, 'coco/bbox_mAP_50'))


def _metric(metrics: dict, key: str) -> Optional[float]:
    return float(metrics[key]) if key in metrics else None


def draw_pictures(data_root: str, pictures: int, out: str, det_ckpt: str,
                  extra: Options, world: str = '64') -> List[str]:
    """Detection and training-free segmentation pictures of the first ``pictures`` test scenes
    of ``world`` into ``out/pictures/{detection,segmentation}``."""
    from mmengine.logging import MMLogger

    from ..apis import demo
    from ..apis.inference import load_model_config
    from ..datasets.ov_shapes import CLASSES
    from .progress import bar
    MMLogger.get_instance('mmengine', log_level='WARNING')
    images = [os.path.join(data_root, 'test', 'images', f'{i:06d}.png') for i in range(pictures)]
    out_dir = os.path.join(out, 'pictures')
    paths = []
    with bar(2 * len(images), 'drawing pictures') as pbar:  # one model build per config
        det_cfg = load_model_config(repository_path(recipe_config('det', world)), extra)
        paths += demo(images, list(CLASSES), det_cfg, det_ckpt,
                      os.path.join(out_dir, 'detection'), score_thr=0.3, draw_size=256)
        pbar.update(len(images))
        seg_cfg = load_model_config(repository_path(recipe_config('seg', world)), extra)
        paths += demo(images, list(CLASSES), seg_cfg, None,
                      os.path.join(out_dir, 'segmentation'), seg_thr=0.5, draw_size=256)
        pbar.update(len(images))
    return paths


def fmt(v: Optional[float]) -> str:
    return '  -  ' if v is None else f'{100 * v:5.1f}'


def table(results: Dict[str, dict]) -> str:
    """The markdown table of the detectors' AP50 and times."""
    rows = ['| detector backbone | base AP50 | novel AP50 | all AP50 | train s | test s |',
            '|---|---|---|---|---|---|']
    for name, r in results.items():
        if 'skipped' in r:
            rows.append(f'| {name} | skipped: {r["skipped"]} | | | | |')
            continue
        rows.append(f'| {name} | {fmt(r["base_ap50"])} | {fmt(r["novel_ap50"])} | '
                    f'{fmt(r["all_ap50"])} | {r["train_s"]:.0f} | {r["test_s"]:.0f} |')
    return '\n'.join(rows)


def encoder_weights(clip: str, declip: str) -> tuple:
    """``(notes, overrides)`` for the DeCLIP row: the distilled encoder when present (warning
    if it was distilled from another tiny CLIP), else the undistilled CLIP in csa mode."""
    if os.path.isfile(declip):
        notes = [f'DeCLIP backbone: the distilled tiny encoder {os.path.relpath(declip)} '
                 '(csa mode); plain-CLIP baseline: the tiny CLIP (vanilla mode)']
        warning = teacher_mismatch(declip, clip)
        return notes + ([warning] if warning else []), weights_options(declip, clip)
    return ([f'NOTE: no distilled tiny DeCLIP encoder at {os.path.relpath(declip)}; the '
             '"declip_csa" row runs the undistilled tiny CLIP in csa mode'],
            weights_options(clip, clip))


def run_main_job(opts: MainJobOptions) -> dict:
    """Run the main job; write ``opts.out/metrics.json`` and return its content."""
    from ..datasets.ov_shapes.arch import ASSET_DIR, TINY_CLIP_CHECKPOINT
    from ..engine.atomic_io import atomic_write_text
    from ..utils.errors import CheckpointError
    from .data import ensure_split
    t0 = time.time()
    clip = os.path.abspath(opts.clip or TINY_CLIP_CHECKPOINT)
    declip = os.path.abspath(opts.declip or os.path.join(ASSET_DIR, 'tiny_declip.pt'))
    if not os.path.isfile(clip):
        raise CheckpointError(f'the tiny CLIP checkpoint is missing: {clip}')
    notes, extra = encoder_weights(clip, declip)
    print('\n'.join(notes))
    n_train = ensure_split(opts.data_root, 'train_base', opts.train_scenes)
    n_test = ensure_split(opts.data_root, 'test', opts.test_scenes)
    runs = dict(out=opts.out, data_root=opts.data_root, train_scenes=opts.train_scenes,
                test_scenes=opts.test_scenes, iters=opts.iters)
    results = {'declip_csa': train_and_test('declip_csa', DET_CONFIG, extra=extra,
                                            show_scenes=opts.show_scenes, **runs)}
    pictures = draw_pictures(opts.data_root, opts.pictures, opts.out,
                             results['declip_csa']['checkpoint'], extra)
    main_s = time.time() - t0
    run_s = results['declip_csa']['train_s'] + results['declip_csa']['test_s']
    wanted = opts.baseline == 'always' or (
        opts.baseline == 'auto' and main_s + run_s <= 60 * opts.budget_min)
    if wanted:
        results['clip_vanilla'] = train_and_test('clip_vanilla', BASELINE_CONFIG,
                                                 extra=weights_options(clip, clip), **runs)
    else:
        why = ('--baseline never' if opts.baseline == 'never' else
               f'{main_s:.0f} s spent, ~{run_s:.0f} s more would pass the '
               f'{opts.budget_min:g} min budget; run with --baseline always')
        results['clip_vanilla'] = dict(skipped=why)
    wall = time.time() - t0
    summary = dict(results=results, notes=notes, wall_s=round(wall, 1),
                   scenes=dict(train_base=opts.train_scenes, test=opts.test_scenes,
                               on_disk=dict(train_base=n_train, test=n_test)),
                   iters=opts.iters, batch_size=8, pictures=pictures,
                   show_dir=os.path.join(opts.out, 'declip_csa', 'vis'))
    os.makedirs(opts.out, exist_ok=True)
    path = os.path.join(opts.out, 'metrics.json')
    atomic_write_text(path, json.dumps(summary, indent=2))
    print(f'\nOV-Shapes open-vocabulary detection ({opts.test_scenes} test scenes; '
          f'24 base classes trained, 6 novel never seen as boxes):')
    print(table(results))
    print(f'\nmetrics: {path}\npictures: {os.path.join(opts.out, "pictures")}/'
          f'{{detection,segmentation}}/ and {summary["show_dir"]}/')
    print(f'wall time: {wall / 60:.1f} min')
    return summary
