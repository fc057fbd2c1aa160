"""GPU throughput benchmark of declip_mm (``python tools/benchmark.py --device cuda`` runs it).

    python -m declip_mm.benchmarks.gpu [--device cuda] [--quick]
        [--only encoder,fvit,catseg,distill]
        [--dtypes bf16,fp32] [--batch 8] [--repeats 5] [--warmup 2] [--clim-repo PATH]
        [--out-json F] [--out-md F]

Random weights, one process, rows timed with ``torch.cuda.synchronize`` around each call
(medians of ``--repeats`` after ``--warmup``); peak memory is ``torch.cuda.max_memory_allocated``
of each row, reset before its warm-up. Rows:

* ``encoder``: ``DeCLIPViT.encode_dense`` (csa) images/s at 224 / 448 / 640 / 1024 for EVA02-B/16
  and EVA02-L/14, batch ``--batch``, in each of ``--dtypes`` (bf16: autocast; fp32: torch's
  defaults: matmuls without TF32, cuDNN convolutions may use it);
* ``fvit``: F-ViT ``test_step`` images/s (fp32 and fp16 autocast, mmcv's RoIAlign has no bf16
  kernel) and ``train_step`` iterations/s under the config's AMP wrapper (fp16, loss scale 512),
  batch ``--batch``: ``configs/ovcoco/declip_fvit.py`` (EVA02-B/16, 640^2) and the L/14 896^2
  config; with ``--clim-repo`` also our F-ViT on the peer's OpenAI ViT-B/16 tower beside
  wusize/CLIM's F-VLM (its own process), as a ratio;
* ``catseg`` / ``distill``: ``train_step`` iterations/s of the CAT-Seg 384^2 and the distillation
  (student 560^2) configs at their per-GPU batch (1 and 4), with AMP (bf16) on CUDA.

Models are built as the CPU benchmark builds them (``models.py``: checkpoints
dropped, SyncBN -> BN, a one-prompt tiny text tower). ``--quick``: tiny towers and sizes, batch
2, one timed call: checks the tool, also with ``--device cpu`` (no AMP, no peak memory there).
"""
import argparse
import contextlib
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from ..utils.package_paths import PACKAGE_DIR, repository_path
from . import models as bm

SOURCE = os.path.dirname(PACKAGE_DIR)  # on the workers' PYTHONPATH
SECTIONS = ('encoder', 'fvit', 'catseg', 'distill')
ENCODER_ARCHS = (('EVA02-CLIP-B-16', 'EVA02-B/16'), ('EVA02-CLIP-L-14', 'EVA02-L/14'))
FVIT_CONFIGS = (('B/16 640', 'configs/ovcoco/declip_fvit.py', None),
                ('L/14 896', 'configs/ovcoco/declip-fvit_eva02-l14_fpn_8xb8-3e_ov-coco-896.py',
                 None))
PEER_TOWER = ('B/16 640, OpenAI tower (peer\'s)', 'configs/ovcoco/declip_fvit.py', 'ViT-B-16')
DTYPES = dict(fp32=None, bf16='bfloat16', fp16='float16')


def log(msg: str) -> None:
    print(f'[benchmark-gpu] {msg}', file=sys.stderr, flush=True)


def autocast(device: str, dtype: str):
    """Autocast to ``dtype`` (``bf16`` / ``fp16``), or nothing for ``fp32``."""
    import torch
    if DTYPES[dtype] is None:
        return contextlib.nullcontext()
    return torch.autocast(device, dtype=getattr(torch, DTYPES[dtype]))


def time_call(fn, device: str, warmup: int, repeats: int) -> dict:
    """Median seconds per ``fn()`` (synchronised) and the peak memory of the calls.

    Returns:
        ``dict(s=median seconds, runs=[seconds], peak_gib=max_memory_allocated or None)``.
    """
    import torch
    cuda = device == 'cuda'
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    for _ in range(warmup):
        fn()
    runs = []
    for _ in range(repeats):
        if cuda:
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if cuda:
            torch.cuda.synchronize()
        runs.append(time.perf_counter() - t)
    peak = torch.cuda.max_memory_allocated() / 2 ** 30 if cuda else None
    return dict(s=statistics.median(runs), runs=[round(r, 5) for r in runs], peak_gib=peak)


def guarded(fn, *a) -> dict:
    """``fn(*a)``, or ``{'error': ...}`` (an out-of-memory row must not end the run)."""
    import torch
    try:
        return fn(*a)
    except Exception as err:  # noqa: BLE001  (reported in the table)
        log(f'{getattr(fn, "__name__", fn)} failed: {err!r}'[:400])
        return dict(error=f'{type(err).__name__}: {err}'[:300])
    finally:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


# ----------------------------------------------------------------------------- encoder
def bench_encoder(args) -> list:
    """``encode_dense`` rows: one per (arch, size, dtype)."""
    import torch

    from declip_mm.models.backbones.declip_vit import DeCLIPViT
    from declip_mm.testing import TINY_EVA
    archs = (((TINY_EVA, 'tiny EVA02'),) if args.quick else ENCODER_ARCHS)
    rows = []
    for arch, name in archs:
        torch.manual_seed(0)
        model = DeCLIPViT(arch=arch, mode='csa').eval().to(args.device)
        for size in args.sizes:
            x = torch.randn(args.batch, 3, size, size, device=args.device)
            for dtype in args.dtypes:
                def run(x=x, dtype=dtype):
                    with torch.no_grad(), autocast(args.device, dtype):
                        return model.encode_dense(x)
                log(f'encoder {name} {size}^2 {dtype}')
                t = guarded(time_call, run, args.device, args.warmup, args.repeats)
                p = model.patch_size
                rows.append(dict(arch=name, size=size, tokens=1 + (-(-size // p)) ** 2,
                                 dtype=dtype, batch=args.batch, **t,
                                 images_per_s=args.batch / t['s'] if 's' in t else None))
        del model
    return rows


# ----------------------------------------------------------------------------- models
def replicate(batch, n: int):
    """A packed batch of one sample repeated ``n`` times (lists repeated, dicts recursed)."""
    if isinstance(batch, dict):
        return {k: replicate(v, n) for k, v in batch.items()}
    if isinstance(batch, list):
        return [copy.deepcopy(x) for x in batch for _ in range(n)]
    return batch


def build(section: str, args, config: str = None, arch: str = None):
    """``(model on the device, optim wrapper, batch factory, info)`` of a repository config with
    random weights; on CUDA the config's AMP wrapper (F-ViT: fp16, loss scale 512) or, where the
    config has none, bf16 AMP; on the CPU a float32 ``OptimWrapper``."""
    import importlib

    import torch
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper

    import declip_mm  # noqa: F401  (registers)
    from declip_mm.registry import MODELS
    scope = bm.SCOPES.get(section)
    if scope:
        importlib.import_module(f'{scope}.utils').register_all_modules()
    cfg = Config.fromfile(repository_path(config or bm.CONFIGS[section]))
    opts = argparse.Namespace(quick=args.quick, fvit_arch=arch)
    model_cfg, one, info = getattr(bm, f'prepare_{section}')(cfg, opts)
    if section == 'fvit' and not args.quick:  # the tiny text tower speaks the head's width
        model_cfg.text_encoder.arch['embed_dim'] = model_cfg.roi_head.bbox_head.embed_dim
    torch.manual_seed(0)
    model = MODELS.build(bm.cpu_random_weights(model_cfg))
    model.init_weights()
    model = model.to(args.device)
    optim_cfg = dict(cfg.optim_wrapper)
    if args.device != 'cuda':  # no AMP off the GPU
        optim_cfg.pop('loss_scale', None)
        optim_cfg.update(type='OptimWrapper')
    elif optim_cfg.get('type', 'OptimWrapper') == 'OptimWrapper':
        optim_cfg.update(type='AmpOptimWrapper', dtype='bfloat16')
    n = args.batch if section == 'fvit' else (
        2 if args.quick else cfg.train_dataloader.batch_size)
    info = dict(info, batch=n, amp=(f"{optim_cfg.get('dtype') or 'float16'}"
                                    if optim_cfg['type'] == 'AmpOptimWrapper' else 'none'))
    return model, build_optim_wrapper(model, optim_cfg), lambda: replicate(one(), n), info


def bench_fvit_variant(args, name: str, config: str, arch: str) -> dict:
    """One F-ViT: inference images/s per dtype, then training iterations/s."""
    import torch
    model, optim, batch, info = build('fvit', args, config, arch)
    if args.quick:
        name = f"quick: {info['arch']}, {info['image']}^2"
    out = dict(model=name, **info, infer={})
    model.eval()
    data = batch()  # built once: the timed calls measure the model, not data making
    for dtype in (('fp32', 'fp16') if args.device == 'cuda' else ('fp32',)):
        def run(dtype=dtype):
            with torch.no_grad(), autocast(args.device, dtype):
                return model.test_step(data)
        log(f'fvit {name} inference {dtype}')
        t = guarded(time_call, run, args.device, args.warmup, args.repeats)
        out['infer'][dtype] = dict(t, images_per_s=info['batch'] / t['s'] if 's' in t else None)
    model.train()
    log(f'fvit {name} training ({info["amp"]} AMP)')
    t = guarded(time_call, lambda: model.train_step(data, optim), args.device,
                args.warmup, args.repeats)
    out['train'] = dict(t, iters_per_s=1 / t['s'] if 's' in t else None)
    return out


def bench_fvit(args, tmp: str) -> dict:
    """The F-ViT rows; with ``--clim-repo`` ours on the OpenAI B/16 tower and the peer (each in
    its own process: the peer's open_clip copy shadows the installed one), and their ratios."""
    variants = [FVIT_CONFIGS[0]] if args.quick else list(FVIT_CONFIGS)
    res = dict(rows=[guarded(bench_fvit_variant, args, *v) for v in variants])
    if args.clim_repo:
        ours, peer = spawn('fvit-ours-b16', args, tmp), spawn('fvit-peer', args, tmp)
        res.update(ours_b16=ours, peer=peer)
        if 'error' not in ours and 'error' not in peer:
            res['ratio'] = {
                'infer fp32': ours['infer']['fp32']['s'] / peer['infer']['fp32']['s'],
                'train': ours['train']['s'] / peer['train']['s']}
    return res


def bench_peer(args) -> dict:
    """Worker: wusize/CLIM's ViT-B/16 F-VLM at 640^2, batch ``--batch``, fp32 inference and a
    training step under fp16 AMP (loss scale 512, as ours)."""
    import torch
    from mmengine.optim import build_optim_wrapper
    model, _ = bm.build_peer_fvlm(args.clim_repo)
    model = model.to(args.device)
    adamw = dict(type='AdamW', lr=1e-4)
    optim = build_optim_wrapper(model, dict(type='AmpOptimWrapper', loss_scale=512.0,
                                            optimizer=adamw) if args.device == 'cuda'
                                else dict(type='OptimWrapper', optimizer=adamw))
    size = 128 if args.quick else 640

    data = replicate(bm.det_batch(size), args.batch)  # built once, outside the timed calls
    model.eval()
    with torch.no_grad():
        t = time_call(lambda: model.test_step(data), args.device, args.warmup, args.repeats)
    out = dict(model=f'CLIM F-VLM ViT-B/16 {size}', infer=dict(fp32=t),
               amp='float16' if args.device == 'cuda' else 'none')
    model.train()
    out['train'] = time_call(lambda: model.train_step(data, optim), args.device, args.warmup,
                             args.repeats)
    return out


def bench_train(args, section: str) -> dict:
    """CAT-Seg / distiller: training iterations/s at the config's per-GPU batch."""
    model, optim, batch, info = build(section, args)
    model.train()
    log(f'{section} training ({info["amp"]} AMP, batch {info["batch"]})')
    data = batch()
    t = time_call(lambda: model.train_step(data, optim), args.device, args.warmup,
                  args.repeats)
    return dict(info, train=dict(t, iters_per_s=1 / t['s']))


# ----------------------------------------------------------------------------- processes
def spawn(task: str, args, tmp: str) -> dict:
    """Run worker ``task`` in a fresh interpreter with this run's options; its JSON or error."""
    out = os.path.join(tmp, f'{task}.json')
    cmd = [sys.executable, '-m', 'declip_mm.benchmarks.gpu', *args.raw, '--worker', task,
           '--worker-out', out]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, (SOURCE, os.environ.get(
        'PYTHONPATH')))))
    log(f'{task} (own process) ...')
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=repository_path(''), env=env,
                          check=False)
    if done.returncode != 0 or not os.path.exists(out):
        return dict(error=f'{task} failed (rc {done.returncode}): {done.stderr.strip()[-1500:]}')
    with open(out) as f:
        return json.load(f)


def run_worker(args) -> None:
    if args.worker == 'fvit-peer':
        res = bench_peer(args)
    else:  # fvit-ours-b16
        res = bench_fvit_variant(args, PEER_TOWER[0], PEER_TOWER[1], PEER_TOWER[2])
    with open(args.worker_out, 'w') as f:
        json.dump(res, f)


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description='declip_mm GPU benchmark (see the module docstring)')
    ap.add_argument('--device', default='cuda', choices=('cuda', 'cpu'),
                    help='cpu only checks the tool (with --quick)')
    ap.add_argument('--only', default=','.join(SECTIONS), help='comma list of sections')
    ap.add_argument('--quick', action='store_true', help='tiny towers and sizes: checks the tool')
    ap.add_argument('--dtypes', default='bf16,fp32', help='encoder precisions')
    ap.add_argument('--sizes', help='encoder sizes (default 224,448,640,1024; --quick 32,64)')
    ap.add_argument('--batch', type=int, help='encoder / F-ViT batch (default 8; --quick 2)')
    ap.add_argument('--repeats', type=int, help='timed calls per row (default 5; --quick 1)')
    ap.add_argument('--warmup', type=int, help='untimed calls first (default 2; --quick 1)')
    ap.add_argument('--clim-repo', help='checkout of wusize/CLIM: its F-VLM beside ours, as ratio')
    ap.add_argument('--out-json', default='outputs/benchmark/benchmark_gpu.json')
    ap.add_argument('--out-md', default='outputs/benchmark/benchmark_gpu.md')
    ap.add_argument('--worker', help=argparse.SUPPRESS)
    ap.add_argument('--worker-out', help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.raw = list(sys.argv[1:] if argv is None else argv)
    args.only = [s for s in args.only.split(',') if s]
    if set(args.only) - set(SECTIONS):
        ap.error(f'--only: choose from {SECTIONS} (the csa section is in the CPU benchmark)')
    args.dtypes = [d for d in args.dtypes.split(',') if d]
    if set(args.dtypes) - set(DTYPES):
        ap.error(f'--dtypes: choose from {tuple(DTYPES)}')
    q = args.quick
    args.sizes = [int(s) for s in (args.sizes or ('32,64' if q else '224,448,640,1024')).split(',')]
    args.batch = args.batch or (2 if q else 8)
    args.repeats = args.repeats or (1 if q else 5)
    args.warmup = args.warmup if args.warmup is not None else (1 if q else 2)
    return args


def main(argv=None) -> dict:
    """Run the sections; write the JSON and the markdown; return the report."""
    args = parse_args(argv)
    import torch
    if args.device == 'cuda' and not torch.cuda.is_available():
        sys.exit('error: --device cuda: torch sees no CUDA GPU (torch.cuda.is_available() is '
                 'False); python -m declip_mm.benchmarks.gpu --device cpu --quick checks the '
                 'tool without one')
    import logging

    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel(logging.ERROR)  # per-parameter init / optim notes
    if args.worker:
        return run_worker(args)
    gpu = torch.cuda.get_device_name() if args.device == 'cuda' else None
    report = dict(meta=dict(torch=torch.__version__, cuda=torch.version.cuda, gpu=gpu,
                            device=args.device, batch=args.batch, repeats=args.repeats,
                            warmup=args.warmup, quick=args.quick,
                            date=time.strftime('%Y-%m-%d %H:%M:%S')))
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for section in args.only:
            t = time.perf_counter()
            if section == 'encoder':
                report[section] = dict(rows=bench_encoder(args))
            elif section == 'fvit':
                report[section] = bench_fvit(args, tmp)
            else:
                report[section] = guarded(bench_train, args, section)
            report[section]['seconds'] = time.perf_counter() - t
            log(f'{section}: {report[section]["seconds"]:.0f} s')
            report['meta']['seconds'] = time.perf_counter() - start
            text = write_report(report, args)  # after each section: a cut-off run keeps rows
    print(text)
    return report


def write_report(report: dict, args) -> str:
    """Write the JSON and the markdown (atomically); return the markdown."""
    from ..engine.atomic_io import atomic_write_text
    from .report_gpu import markdown
    text = markdown(report)
    for path, content in ((args.out_json, json.dumps(report, indent=1)), (args.out_md, text)):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        atomic_write_text(path, content + '\n')
    return text


if __name__ == '__main__':
    main()
