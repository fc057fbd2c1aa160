"""Torch-only pieces of the benchmark: timing, peak memory, the profiler, and the csa
attention section's workers.

This file imports nothing from declip_mm (the attention module is loaded by path), so the csa
workers run it as a script (``python .../kernels.py --task csa-sdpa ...``) in a fresh
interpreter holding torch alone: each formulation's ``ru_maxrss`` growth is its own.
"""
import argparse
import importlib.util
import json
import os
import resource
import statistics
import time

PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ATTENTION = os.path.join(PACKAGE, 'models', 'layers', 'decoupled_attention.py')


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


def load_attention_module():
    """``decoupled_attention.py`` by path: no package import (a torch-only worker starts fast)."""
    spec = importlib.util.spec_from_file_location('_decoupled_attention', ATTENTION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def csa_inputs(args, dtype=None) -> tuple:
    """The csa section's ``q, k, v`` ``(1, 12, N, 64)``, ``N(0, 0.5^2)``, seed 0."""
    import torch
    n = 1 + (args.csa_size // 16) ** 2
    g = torch.Generator().manual_seed(0)
    return tuple((0.5 * torch.randn(1, 12, n, 64, generator=g)).to(dtype or torch.float32)
                 for _ in range(3))


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


def main(argv=None) -> None:
    """Worker entry: ``--task csa-sdpa|csa-explicit|csa-ref64``; writes ``--worker-out``."""
    ap = argparse.ArgumentParser(description='csa worker of the benchmark')
    ap.add_argument('--task', required=True, choices=('csa-sdpa', 'csa-explicit', 'csa-ref64'))
    ap.add_argument('--csa-size', type=int, required=True)
    ap.add_argument('--warmup', type=int, default=1)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--worker-out', required=True)
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    if args.task == 'csa-ref64':
        res = csa_reference64(args)
    else:
        res = dict(bench_csa_variant(args, args.task[4:]), out=args.worker_out)
    with open(args.worker_out, 'w') as f:
        json.dump(res, f)


if __name__ == '__main__':
    main()
