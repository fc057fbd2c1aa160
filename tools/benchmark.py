"""CPU benchmark of declip_mm; every ratio is measured side by side in one run.
``--device cuda`` runs the GPU throughput benchmark instead (``tools/benchmark_gpu.py``).

    python tools/benchmark.py [--only encoder,csa,fvit,catseg,distill] [--quick] [--profile]
        [--repeats 3] [--warmup 1] [--threads 2] [--fvit-arch NAME] [--clim-repo PATH]
        [--peer-rounds 2] [--out-json F] [--out-md F]

Random weights, batch 1, float32, medians of ``--repeats`` calls after ``--warmup``, in wall
(``perf_counter``) and process CPU (``process_time``) seconds; each section runs in a fresh
subprocess, so its peak RSS (``ru_maxrss``) is its own. Sections:

* ``encoder``: DeCLIPViT ``encode_dense`` vs open_clip's forward of the same ``.visual``;
* ``csa``: SDPA vs explicit N x N attention maps: time, ``ru_maxrss`` growth, max |diff|, and
  each one's error against the explicit formulation in float64;
* ``fvit``: ``test_step`` and ``train_step`` of ``configs/ovcoco/declip_fvit.py`` (ViT-B/16
  tower by default) with per-stage inference times; for OpenAI-style towers also "before" calls
  whose blocks run through ``nn.MultiheadAttention``; with ``--clim-repo`` the peer, CLIM's
  F-VLM, in alternating processes;
* ``catseg`` / ``distill``: ``train_step`` of the repository configs.

Models: checkpoints dropped, SyncBN -> BN, AMP -> ``OptimWrapper`` (``benchmark_models.py``).
``--quick``: tiny sizes and towers, ~1 min. The markdown (``benchmark_report.py``) says exactly
what each row compares.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from benchmark_models import build_model_and_optim  # tools/benchmark_models.py
from benchmark_report import PEER_FVLM, markdown  # tools/benchmark_report.py

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECTIONS = ('encoder', 'csa', 'fvit', 'catseg', 'distill')



def peak_rss_gib() -> float:
    """Peak resident set of this process so far (``ru_maxrss``, KiB on Linux), in GiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20


def time_calls(fns: dict, warmup: int, repeats: int) -> dict:
    """Time callables, alternating them call by call.

    Args:
        fns: ``{name: zero-argument callable}``.
        warmup: untimed rounds first.
        repeats: timed rounds.

    Returns:
        ``{name: dict(wall_s, cpu_s, wall_runs)}``, medians over the timed rounds.
    """
    for fn in list(fns.values()) * warmup:
        fn()
    runs = {name: ([], []) for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            runs[name][0].append(time.perf_counter() - w0)
            runs[name][1].append(time.process_time() - c0)
    return {name: dict(wall_s=statistics.median(w), cpu_s=statistics.median(c),
                       wall_runs=[round(t, 4) for t in w]) for name, (w, c) in runs.items()}


def top_ops(fn, n: int = 10) -> list:
    """Run ``fn`` once under the CPU profiler; the ``n`` ops with the most self CPU time."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    return [dict(op=e.key, self_cpu_ms=round(e.self_cpu_time_total / 1e3, 2), calls=e.count)
            for e in events[:n]]


def plain_forward(visual, pos):
    """open_clip's own tower forward with position embedding ``pos`` swapped in for the call."""
    def run(x):
        saved = visual.positional_embedding
        visual.positional_embedding = pos
        try:
            return visual(x)
        finally:
            visual.positional_embedding = saved
    return run


def bench_encoder(args) -> dict:
    """``encode_dense`` vs the plain open_clip forward of the same tower, per image size."""
    import torch
    from declip_mm.models.backbones.declip_vit import DeCLIPViT
    from declip_mm.models.layers.pos_embed import resample_abs_pos_embed
    torch.manual_seed(0)
    model = DeCLIPViT(arch='ViT-B-16', mode='csa').eval()
    visual, p = model.visual, model.patch_size
    side = int(round((visual.positional_embedding.shape[0] - 1) ** 0.5))
    rows = []
    for size in args.encoder_sizes:
        x = torch.randn(1, 3, size, size)
        with torch.no_grad():
            pos = resample_abs_pos_embed(visual.positional_embedding[None], (side, side),
                                         (size // p, size // p))[0]
            plain = plain_forward(visual, torch.nn.Parameter(pos, requires_grad=False))
            t = time_calls({'plain': lambda: plain(x), 'declip': lambda: model.encode_dense(x)},
                           args.warmup, args.repeats)
        rows.append(dict(size=size, tokens=1 + (size // p) ** 2, plain=t['plain'],
                         declip=t['declip'],
                         ratio_wall=t['declip']['wall_s'] / t['plain']['wall_s'],
                         ratio_cpu=t['declip']['cpu_s'] / t['plain']['cpu_s']))
    return dict(arch='ViT-B-16', mode='csa', target_ratio=1.05, rows=rows)


def load_attention_module():
    """``decoupled_attention.py`` by path: no package import (a torch-only worker starts fast)."""
    import importlib.util
    path = os.path.join(ROOT, 'declip_mm/models/layers/decoupled_attention.py')
    spec = importlib.util.spec_from_file_location('_decoupled_attention', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bench_csa_variant(args, impl: str) -> dict:
    """One csa formulation (``sdpa`` / ``explicit``): times, peak-RSS growth, saved output."""
    import torch
    layer = load_attention_module()
    q, k, v = csa_inputs(args)
    n = q.shape[2]
    fn = {'sdpa': lambda: layer.self_self_attention(q, k, v, 'csa', 1.0),
          'explicit': lambda: layer.explicit_self_self_attention(q, k, v, 'csa', 1.0)[0]}[impl]
    base = peak_rss_gib()
    with torch.no_grad():
        t = time_calls({impl: fn}, args.warmup, args.repeats)[impl]
        torch.save(fn(), args.worker_out + '.pt')
    return dict(t, tokens=n, peak_extra_mib=(peak_rss_gib() - base) * 1024)


def csa_inputs(args, dtype=None) -> tuple:
    """The csa section's ``q, k, v`` ``(1, 12, N, 64)``, ``N(0, 0.5^2)``, seed 0."""
    import torch
    n = 1 + (args.csa_size // 16) ** 2
    g = torch.Generator().manual_seed(0)
    return tuple((0.5 * torch.randn(1, 12, n, 64, generator=g)).to(dtype or torch.float32)
                 for _ in range(3))


def csa_reference64(args) -> dict:
    """Worker: the explicit formulation in float64 on the same inputs (the rounding-free
    reference), saved next to the worker's JSON. In its own process: its ~5 GiB would otherwise
    stay in this process's ``ru_maxrss``, which Linux passes on to every later worker."""
    import torch
    q, k, v = csa_inputs(args, torch.float64)
    with torch.no_grad():
        out = load_attention_module().explicit_self_self_attention(q, k, v, 'csa', 1.0)[0]
    torch.save(out, args.worker_out + '.pt')
    return dict(out=args.worker_out)


def run_csa(args, tmp: str) -> dict:
    """Both csa formulations and the float64 reference, each in its own subprocess; ratios,
    difference and errors."""
    import torch
    res = {impl: spawn(f'csa-{impl}', args, tmp) for impl in ('sdpa', 'explicit', 'ref64')}
    if any('error' in r for r in res.values()):
        return dict(error='; '.join(r['error'] for r in res.values() if 'error' in r))
    a, b, ref = (torch.load(res[i].pop('out') + '.pt', weights_only=True)
                 for i in ('sdpa', 'explicit', 'ref64'))
    s, e = res['sdpa'], res['explicit']
    return dict(size=args.csa_size, tokens=s['tokens'], heads=12, head_dim=64, scale=1.0,
                sdpa=s, explicit=e, time_ratio_explicit_over_sdpa=e['wall_s'] / s['wall_s'],
                memory_ratio_explicit_over_sdpa=e['peak_extra_mib'] / max(s['peak_extra_mib'],
                                                                          1e-3),
                max_abs_diff=(a - b).abs().max().item(),
                error_vs_float64=dict(sdpa=(a.double() - ref).abs().max().item(),
                                      explicit=(b.double() - ref).abs().max().item()),
                memory_method='ru_maxrss growth in a fresh subprocess per formulation')


def bench_model(args, section: str) -> dict:
    """Training iterations of CAT-Seg or the distiller; peak RSS after them."""
    model, optim, batch, info = build_model_and_optim(section, args)
    out = dict(info, built_rss_gib=peak_rss_gib())
    model.train()
    t = time_calls({'train': lambda: model.train_step(batch(), optim)}, args.warmup, args.repeats)
    out['train'] = dict(t['train'], peak_rss_gib=peak_rss_gib())
    if args.profile:
        out['profile_train'] = top_ops(lambda: model.train_step(batch(), optim))
    return out


def bench_fvit(args, peer: bool) -> dict:
    """F-ViT (or, ``peer``, CLIM's F-VLM): inference, then training iterations, with the
    inference stage times; for an OpenAI-style tower also "before" variants whose ordinary
    blocks run through ``nn.MultiheadAttention`` (timed call by call alternately)."""
    import torch
    from benchmark_models import StageTimer, build_peer_fvlm, det_batch, module_blocks
    if peer:
        model, optim = build_peer_fvlm(args.clim_repo)
        batch, info = (lambda: det_batch(640)), dict(image=640, arch='ViT-B-16 (CLIM F-VLM)')
    else:
        model, optim, batch, info = build_model_and_optim('fvit', args)
    out = dict(info, built_rss_gib=peak_rss_gib())
    tags = ('after', 'before') if not peer and model.backbone.ops.family == 'openai' else (
        'after',)
    timer, stages = StageTimer(model, peer), {tag: [] for tag in tags}

    def call(tag: str, fn):
        def run():
            timer.reset()
            if tag == 'before':
                with module_blocks(model.backbone):
                    fn()
            else:
                fn()
            stages[tag].append((dict(timer.times), sum(timer.candidates)))
        return run

    model.eval()
    with torch.no_grad():
        t = time_calls({tag: call(tag, lambda: model.test_step(batch())) for tag in tags},
                       args.warmup, args.repeats)
    out.update({f'infer_{tag}': t[tag] for tag in tags}, infer_peak_rss_gib=peak_rss_gib())
    for tag in tags:
        runs = stages[tag][args.warmup:]
        out[f'stages_{tag}'] = {k: statistics.median(r[0].get(k, 0.0) for r in runs)
                                for k in runs[0][0]}
        out[f'nms_candidates_{tag}'] = statistics.median(r[1] for r in runs)
    timer.detach()
    if args.fvit_infer_only:
        return out
    model.train()
    t = time_calls({tag: call(tag, lambda: model.train_step(batch(), optim)) for tag in tags},
                   args.warmup, args.repeats)
    out.update({f'train_{tag}': t[tag] for tag in tags}, train_peak_rss_gib=peak_rss_gib())
    if args.profile and not peer:
        out['profile_train'] = top_ops(lambda: model.train_step(batch(), optim))
    return out


def run_fvit(args, tmp: str) -> dict:
    """F-ViT alone, or with ``--clim-repo`` alternately with the peer for ``--peer-rounds``
    rounds (each detector in a fresh process per round)."""
    res = dict(ours=[], peer=[])
    for _ in range(args.peer_rounds if args.clim_repo else 1):
        res['ours'].append(spawn('fvit', args, tmp))
        if args.clim_repo:
            res['peer'].append(spawn('fvit-peer', args, tmp))
    errors = [r['error'] for r in res['ours'] + res['peer'] if 'error' in r]
    return dict(error='; '.join(errors)) if errors else res


def run_worker(args) -> None:
    """Subprocess entry: run one task and write its JSON to ``--worker-out``."""
    import torch
    torch.set_num_threads(args.threads)
    task = args.worker
    if task == 'csa-ref64':
        res = csa_reference64(args)
    elif task.startswith('csa-'):
        res = dict(bench_csa_variant(args, task[4:]), out=args.worker_out)
    elif task.startswith('fvit'):
        res = bench_fvit(args, peer=task == 'fvit-peer')
    else:
        res = bench_encoder(args) if task == 'encoder' else bench_model(args, task)
    with open(args.worker_out, 'w') as f:
        json.dump(res, f)


def spawn(task: str, args, tmp: str) -> dict:
    """Run ``task`` in a fresh interpreter with this run's options; its JSON, or
    ``{'error': stderr tail}``."""
    out = os.path.join(tmp, f'{task}.json')
    cmd = [sys.executable, os.path.abspath(__file__), *args.raw, '--worker', task,
           '--worker-out', out]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, (ROOT, os.environ.get(
        'PYTHONPATH')))))
    print(f'[benchmark] {task} ...', file=sys.stderr, flush=True)
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    if done.returncode != 0 or not os.path.exists(out):
        return dict(error=f'{task} failed (rc {done.returncode}): {done.stderr.strip()[-1500:]}')
    with open(out) as f:
        return json.load(f)


def parse_args(argv=None) -> argparse.Namespace:
    """Command line; ``--quick`` narrows the default sizes."""
    ap = argparse.ArgumentParser(description='declip_mm CPU benchmark (see the module docstring)')
    ap.add_argument('--only', default=','.join(SECTIONS), help='comma list of sections')
    ap.add_argument('--quick', action='store_true', help='tiny sizes: checks the tool in ~1 min')
    ap.add_argument('--profile', action='store_true', help='top-10 ops of fvit/catseg/distill')
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--warmup', type=int, default=1)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--encoder-sizes', help='default 224,448,640 (--quick: 224)')
    ap.add_argument('--csa-size', type=int, help='default 1024 (--quick: 256)')
    ap.add_argument('--fvit-arch', default='ViT-B-16',
                    help="F-ViT backbone arch (default ViT-B-16, the peer's tower; "
                         "EVA02-CLIP-B-16 is the config's)")
    ap.add_argument('--clim-repo', help='checkout of wusize/CLIM: time its F-VLM beside F-ViT')
    ap.add_argument('--fvit-infer-only', action='store_true', help='skip F-ViT training steps')
    ap.add_argument('--peer-rounds', type=int, default=2,
                    help='alternating F-ViT / peer process rounds (with --clim-repo)')
    ap.add_argument('--device', default='cpu', choices=('cpu', 'cuda'),
                    help='cuda: the GPU benchmark, tools/benchmark_gpu.py (its own options)')
    ap.add_argument('--out-json', default='outputs/benchmark/benchmark.json')
    ap.add_argument('--out-md', default='outputs/benchmark/benchmark.md')
    ap.add_argument('--worker', help=argparse.SUPPRESS)
    ap.add_argument('--worker-out', help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.raw = list(sys.argv[1:] if argv is None else argv)
    args.only = [s for s in args.only.split(',') if s]
    if set(args.only) - set(SECTIONS):
        ap.error(f'--only: choose from {SECTIONS}')
    sizes = args.encoder_sizes or ('224' if args.quick else '224,448,640')
    args.encoder_sizes = [int(s) for s in sizes.split(',')]
    args.csa_size = args.csa_size or (256 if args.quick else 1024)
    return args


def main(argv=None) -> None:
    """Run the selected sections, each in subprocesses; write the JSON and the markdown.
    ``--device cuda`` hands the whole command line to ``tools/benchmark_gpu.py``."""
    raw = list(sys.argv[1:] if argv is None else argv)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument('--device', default='cpu')
    if pre.parse_known_args(raw)[0].device == 'cuda':
        from benchmark_gpu import main as gpu_main  # tools/benchmark_gpu.py
        gpu_main(raw)
        return
    args = parse_args(argv)
    if args.worker:
        return run_worker(args)
    import torch
    report = dict(meta=dict(torch=torch.__version__, threads=args.threads, repeats=args.repeats,
                            warmup=args.warmup, quick=args.quick, profile=args.profile,
                            date=time.strftime('%Y-%m-%d %H:%M:%S'), peer_fvlm=PEER_FVLM))
    with tempfile.TemporaryDirectory() as tmp:
        for section in args.only:
            run = dict(csa=run_csa, fvit=run_fvit).get(section)
            report[section] = run(args, tmp) if run else spawn(section, args, tmp)
    text = markdown(report)
    from declip_mm.engine.atomic_io import atomic_write_text
    for path, content in ((args.out_json, json.dumps(report, indent=1)), (args.out_md, text)):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        atomic_write_text(path, content + '\n')
    print(text)


if __name__ == '__main__':
    main()
