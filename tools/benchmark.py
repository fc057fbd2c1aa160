"""CPU benchmark of declip_mm; every ratio is measured side by side in one run.

    python tools/benchmark.py [--only encoder,csa,fvit,catseg,distill] [--quick] [--profile]
        [--repeats 3] [--warmup 1] [--threads 2] [--fvit-arch NAME] [--out-json F] [--out-md F]

Random weights, batch 1, float32, medians of ``--repeats`` calls after ``--warmup``, in wall
(``perf_counter``) and process CPU (``process_time``) seconds; each section runs in a fresh
subprocess, so its peak RSS (``ru_maxrss``) is its own. Sections: ``encoder`` (DeCLIPViT
``encode_dense`` vs open_clip's forward of the same ``.visual``), ``csa`` (SDPA vs explicit
N x N attention maps: time, ``ru_maxrss`` growth, max |diff|), ``fvit`` / ``catseg`` /
``distill`` (``train_step`` of the repository configs with checkpoints dropped, SyncBN -> BN and
AMP -> ``OptimWrapper``; F-ViT also ``test_step``). ``--quick``: tiny sizes and towers, ~1 min.
The markdown notes say exactly what each row compares.
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECTIONS = ('encoder', 'csa', 'fvit', 'catseg', 'distill')
PEER_FVLM = dict(
    source='wusize/CLIM F-VLM, same machine kind, random weights, 640^2, batch 1, 2 threads; '
           'not measured by this run',
    train=dict(wall_s='8.0-8.5', cpu_s=16, peak_rss_gib=2.9),
    infer=dict(wall_s=5.2, cpu_s=9.7, peak_rss_gib=2.0))


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
    n = 1 + (args.csa_size // 16) ** 2
    g = torch.Generator().manual_seed(0)
    q, k, v = (0.5 * torch.randn(1, 12, n, 64, generator=g) for _ in range(3))
    fn = {'sdpa': lambda: layer.self_self_attention(q, k, v, 'csa', 1.0),
          'explicit': lambda: layer.explicit_self_self_attention(q, k, v, 'csa', 1.0)[0]}[impl]
    base = peak_rss_gib()
    with torch.no_grad():
        t = time_calls({impl: fn}, args.warmup, args.repeats)[impl]
        torch.save(fn(), args.worker_out + '.pt')
    return dict(t, tokens=n, peak_extra_mib=(peak_rss_gib() - base) * 1024)


def run_csa(args, tmp: str) -> dict:
    """Both csa formulations in their own subprocesses, then their ratios and difference."""
    import torch
    res = {impl: spawn(f'csa-{impl}', args, tmp) for impl in ('sdpa', 'explicit')}
    if any('error' in r for r in res.values()):
        return dict(error='; '.join(r['error'] for r in res.values() if 'error' in r))
    a, b = (torch.load(res[i].pop('out') + '.pt', weights_only=True) for i in ('sdpa', 'explicit'))
    s, e = res['sdpa'], res['explicit']
    return dict(size=args.csa_size, tokens=s['tokens'], heads=12, head_dim=64, scale=1.0,
                sdpa=s, explicit=e, time_ratio_explicit_over_sdpa=e['wall_s'] / s['wall_s'],
                memory_ratio_explicit_over_sdpa=e['peak_extra_mib'] / max(s['peak_extra_mib'],
                                                                          1e-3),
                max_abs_diff=(a - b).abs().max().item(),
                memory_method='ru_maxrss growth in a fresh subprocess per formulation')


def bench_model(args, section: str) -> dict:
    """Inference (F-ViT only) then training iterations of one model; peak RSS after each."""
    import torch
    model, optim, batch, info = build_model_and_optim(section, args)
    out = dict(info, built_rss_gib=peak_rss_gib())
    if section == 'fvit':
        model.eval()
        with torch.no_grad():
            t = time_calls({'infer': lambda: model.test_step(batch())}, args.warmup, args.repeats)
        out['infer'] = dict(t['infer'], peak_rss_gib=peak_rss_gib())
    model.train()
    t = time_calls({'train': lambda: model.train_step(batch(), optim)}, args.warmup, args.repeats)
    out['train'] = dict(t['train'], peak_rss_gib=peak_rss_gib())
    if args.profile:
        out['profile_train'] = top_ops(lambda: model.train_step(batch(), optim))
    return out


def run_worker(args) -> None:
    """Subprocess entry: run one task and write its JSON to ``--worker-out``."""
    import torch
    torch.set_num_threads(args.threads)
    task = args.worker
    res = (bench_encoder(args) if task == 'encoder' else bench_model(args, task)
           if not task.startswith('csa-') else
           dict(bench_csa_variant(args, task[4:]), out=args.worker_out))
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


def table(header: list, rows: list) -> list:
    """Markdown table lines; floats with 3 significant digits, ``-`` for missing cells."""
    cell = lambda x: '-' if x is None else f'{x:.3g}' if isinstance(x, float) else str(x)  # noqa
    return (['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
            + ['| ' + ' | '.join(cell(c) for c in row) + ' |' for row in rows] + [''])


def md_encoder(r: dict) -> list:
    """Section 1: per-size times and DeCLIP / plain ratios."""
    rows = [(x['size'], x['tokens'], x['plain']['wall_s'], x['declip']['wall_s'],
             x['ratio_wall'], x['ratio_cpu'], f"<= {r['target_ratio']}") for x in r['rows']]
    return table(['size', 'tokens', 'plain (s)', 'DeCLIP (s)', 'ratio wall', 'ratio CPU',
                  'target'], rows) + [
        'Same `.visual` module and weights. The plain forward uses a position embedding '
        'resampled once before timing; DeCLIP resamples on every call. Calls alternate.', '']


def md_csa(r: dict) -> list:
    """Section 2: time / memory ratios and the output difference."""
    s, e = r['sdpa'], r['explicit']
    row = (f"{r['size']}^2", r['tokens'], s['wall_s'], e['wall_s'],
           r['time_ratio_explicit_over_sdpa'], s['peak_extra_mib'], e['peak_extra_mib'],
           r['memory_ratio_explicit_over_sdpa'], f"{r['max_abs_diff']:.2e}")
    return table(['image', 'tokens', 'SDPA (s)', 'explicit (s)', 'time ratio expl/SDPA',
                  'SDPA peak (MiB)', 'explicit peak (MiB)', 'memory ratio', 'max abs diff'],
                 [row]) + [
        '`self_self_attention` (SDPA, the path DeCLIPViT runs) vs `explicit_self_self_attention` '
        '(materialised softmax maps); tokens include CLS; q, k, v ~ N(0, 0.5^2), 12 heads x 64, '
        f"scale 1 (EVA02 path). Memory: {r['memory_method']}, from just before the warm-up.", '']


def md_models(report: dict, models: list) -> list:
    """Section 3: wall / CPU seconds and peak RSS per model and phase, F-ViT's peer beside."""
    rows = []
    for s in models:
        for phase in ('infer', 'train'):
            p, peer = report[s].get(phase), PEER_FVLM[phase] if s == 'fvit' else {}
            if p:
                rows.append((s, phase, p['wall_s'], p['cpu_s'], p['peak_rss_gib'],
                             peer.get('wall_s'), peer.get('cpu_s'), peer.get('peak_rss_gib')))
    return table(['model', 'phase', 'wall (s)', 'CPU (s)', 'peak RSS (GiB)', 'peer wall (s)',
                  'peer CPU (s)', 'peer RSS (GiB)'], rows) + [
        '`train_step` (preprocess, forward, backward, grad clip, optimizer step) / `test_step` of '
        'the repository configs, random weights: checkpoints dropped, SyncBN -> BN, AMP -> '
        'float32 `OptimWrapper`; F-ViT embeds its vocabulary once with a tiny random text tower. '
        "Peak RSS is the worker process's (F-ViT inference runs first, so its train peak is the "
        f"process peak). Peer: {PEER_FVLM['source']}.", '']


def markdown(report: dict) -> str:
    """The whole markdown report; a failed section shows its error."""
    m, last_line = report['meta'], lambda err: err.strip().splitlines()[-1]
    lines = ['# declip_mm CPU benchmark', '',
             f"torch {m['torch']}, {m['threads']} threads, median of {m['repeats']} after "
             f"{m['warmup']} warm-up, random weights, batch 1, float32"
             + (', **--quick** (tiny sizes: checks the tool, not the numbers)' * m['quick']), '']
    titles = dict(encoder='DeCLIPViT.encode_dense vs plain open_clip tower (ViT-B-16, csa)',
                  csa='csa attention: SDPA vs explicit N x N maps')
    for s, render in (('encoder', md_encoder), ('csa', md_csa)):
        if s in report:
            lines += [f'## {titles[s]}', '']
            lines += [f"failed: {last_line(report[s]['error'])}", ''] if 'error' in report[s] \
                else render(report[s])
    models = [s for s in ('fvit', 'catseg', 'distill') if s in report]
    if models:
        lines += ['## End-to-end iterations', '']
        lines += [f"{s} failed: {last_line(report[s]['error'])}\n" for s in models
                  if 'error' in report[s]]
        ok = [s for s in models if 'error' not in report[s]]
        lines += md_models(report, ok) if ok else []
        for s in (s for s in models if report[s].get('profile_train')):
            lines += [f'### {s}: top ops by self CPU time (one training iteration)', '']
            lines += table(['op', 'self CPU (ms)', 'calls'], [
                (f"`{o['op']}`", o['self_cpu_ms'], o['calls']) for o in report[s]['profile_train']])
    return '\n'.join(lines)


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
    ap.add_argument('--fvit-arch', help="F-ViT backbone arch (default: the config's)")
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
    """Run the selected sections, each in subprocesses; write the JSON and the markdown."""
    args = parse_args(argv)
    if args.worker:
        return run_worker(args)
    import torch
    report = dict(meta=dict(torch=torch.__version__, threads=args.threads, repeats=args.repeats,
                            warmup=args.warmup, quick=args.quick, profile=args.profile,
                            date=time.strftime('%Y-%m-%d %H:%M:%S'), peer_fvlm=PEER_FVLM))
    with tempfile.TemporaryDirectory() as tmp:
        for section in args.only:
            report[section] = run_csa(args, tmp) if section == 'csa' else spawn(section, args, tmp)
    text = markdown(report)
    for path, content in ((args.out_json, json.dumps(report, indent=1)), (args.out_md, text)):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, 'w') as f:
            f.write(content + '\n')
    print(text)


if __name__ == '__main__':
    main()
