"""Time and memory of DeCLIP's csa attention: SDPA formulation vs explicit (materialised) maps.

    python tools/benchmark_csa_block.py [--size 1024] [--patch 16] [--heads 12] [--head-dim 64]
        [--repeats 3] [--threads 1] [--scale 1.0] [--mode csa]

Default: a 1024 x 1024 image through a B/16 tower, i.e. 1 + 64 * 64 = 4097 tokens, 12 heads of
64 channels, batch 1, float32 on CPU. Inputs are q, k, v ~ N(0, 0.5^2) (logits of a few units,
as in the unscaled EVA02 path, ``--scale 1.0``).

Each formulation runs in its own fresh subprocess: one warm-up call, then ``--repeats`` timed
calls (the median is reported). Peak memory is the growth of the process's peak resident set
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) from just before the warm-up call (torch imported,
inputs allocated) to the end: the extra memory the attention needed at its peak. The subprocess
writes its output to a temporary file and the parent reports the max abs difference.

Prints one JSON object.
"""
import argparse
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LAYER_FILE = os.path.join(HERE, '..', 'declip_mm', 'models', 'layers', 'decoupled_attention.py')


def load_layer():
    """The attention module by file path (no package import: keeps the memory baseline small)."""
    spec = importlib.util.spec_from_file_location('_decoupled_attention', LAYER_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def maxrss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == 'darwin' else rss * 1024  # Linux reports KiB


def worker(args: argparse.Namespace) -> None:
    """Run one formulation; print its timings and memory as JSON, save the output."""
    import torch
    torch.set_num_threads(args.threads)
    layer = load_layer()
    n = 1 + (args.size // args.patch) ** 2
    g = torch.Generator().manual_seed(0)
    q, k, v = (0.5 * torch.randn(1, args.heads, n, args.head_dim, generator=g) for _ in range(3))

    def fn():
        if args.impl == 'sdpa':
            return layer.self_self_attention(q, k, v, args.mode, args.scale)
        return layer.explicit_self_self_attention(q, k, v, args.mode, args.scale)[0]

    base = maxrss_bytes()
    with torch.no_grad():
        out = fn()  # warm-up
        times = []
        for _ in range(args.repeats):
            del out
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
    peak = maxrss_bytes() - base
    torch.save(out, args.save)
    print(json.dumps(dict(tokens=n, times_s=times, peak_extra_mib=peak / 2 ** 20)))


def run_worker(impl: str, args: argparse.Namespace, save: str) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), '--worker', impl, '--save', save,
           '--size', str(args.size), '--patch', str(args.patch), '--heads', str(args.heads),
           '--head-dim', str(args.head_dim), '--repeats', str(args.repeats),
           '--threads', str(args.threads), '--scale', str(args.scale), '--mode', args.mode]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f'error: the {impl} worker failed:\n{done.stderr.strip()[-2000:]}')
    return json.loads(done.stdout.strip().splitlines()[-1])


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Benchmark the decoupled csa attention')
    parser.add_argument('--size', type=int, default=1024, help='image side in pixels')
    parser.add_argument('--patch', type=int, default=16)
    parser.add_argument('--heads', type=int, default=12)
    parser.add_argument('--head-dim', type=int, default=64)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--scale', type=float, default=1.0, help='logit scale (EVA02 path: 1)')
    parser.add_argument('--mode', default='csa', choices=['qq', 'kk', 'vv', 'csa', 'all'])
    parser.add_argument('--worker', choices=['sdpa', 'explicit'], help=argparse.SUPPRESS)
    parser.add_argument('--save', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.impl = args.worker
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return
    import torch
    with tempfile.TemporaryDirectory() as tmp:
        res = {impl: run_worker(impl, args, os.path.join(tmp, f'{impl}.pt'))
               for impl in ('sdpa', 'explicit')}
        a, b = (torch.load(os.path.join(tmp, f'{i}.pt'), weights_only=True)
                for i in ('sdpa', 'explicit'))
        diff = (a - b).abs().max().item()
        rel = diff / b.abs().max().item()
    med = {impl: statistics.median(r['times_s']) for impl, r in res.items()}
    report = dict(
        mode=args.mode, tokens=res['sdpa']['tokens'], heads=args.heads, head_dim=args.head_dim,
        batch=1, dtype='float32', device='cpu', threads=args.threads, scale=args.scale,
        repeats=args.repeats,
        median_s={k: round(v, 4) for k, v in med.items()},
        time_ratio_explicit_over_sdpa=round(med['explicit'] / med['sdpa'], 3),
        peak_extra_mib={k: round(r['peak_extra_mib'], 1) for k, r in res.items()},
        memory_ratio_explicit_over_sdpa=round(
            res['explicit']['peak_extra_mib'] / max(res['sdpa']['peak_extra_mib'], 1e-9), 1),
        max_abs_diff=diff, max_rel_diff=rel,
        memory_method='ru_maxrss growth in a fresh subprocess per formulation')
    print(json.dumps(report, indent=1))


if __name__ == '__main__':
    main()
