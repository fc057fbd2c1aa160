"""CPU benchmark of declip_mm; every ratio is measured side by side in one run.

The command line is ``tools/benchmark.py`` (options: :func:`parse_args`):

    python tools/benchmark.py [--only encoder,csa,fvit,catseg,distill] [--quick] [--profile]
        [--repeats 3] [--warmup 1] [--threads 2] [--fvit-arch NAME] [--clim-repo PATH]
        [--peer-rounds 2] [--out-json F] [--out-md F]

Random weights, batch 1, float32, medians of ``--repeats`` calls after ``--warmup``, in wall
(``perf_counter``) and process CPU (``process_time``) seconds; each section runs in a fresh
subprocess, so its peak RSS (``ru_maxrss``) is its own (the csa workers run ``kernels.py``
by path, with torch alone). Sections:

* ``encoder``: DeCLIPViT ``encode_dense`` vs open_clip's forward of the same ``.visual``;
* ``csa``: SDPA vs explicit N x N attention maps: time, ``ru_maxrss`` growth, max |diff|, and
  each one's error against the explicit formulation in float64;
* ``fvit``: ``test_step`` and ``train_step`` of ``configs/ovcoco/declip_fvit.py`` (ViT-B/16
  tower by default) with per-stage inference times; for OpenAI-style towers also "before" calls
  whose blocks run through ``nn.MultiheadAttention``; with ``--clim-repo`` the peer, CLIM's
  F-VLM, in alternating processes;
* ``catseg`` / ``distill``: ``train_step`` of the repository configs.

Models: checkpoints dropped, SyncBN -> BN, AMP -> ``OptimWrapper`` (``models.py``).
``--quick``: tiny sizes and towers, ~1 min. The markdown (``report.py``) says exactly
what each row compares.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from ..engine.atomic_io import atomic_write_text
from ..utils.package_paths import PACKAGE_DIR, repository_path
from . import kernels, sections
from .report import PEER_FVLM, markdown

SECTIONS = ('encoder', 'csa', 'fvit', 'catseg', 'distill')
SOURCE = os.path.dirname(PACKAGE_DIR)
"""The folder holding this ``declip_mm``: the workers import the same copy."""


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
    """Subprocess entry of the model sections: run one task, write its JSON to
    ``--worker-out``."""
    import torch
    torch.set_num_threads(args.threads)
    task = args.worker
    if task.startswith('fvit'):
        res = sections.bench_fvit(args, peer=task == 'fvit-peer')
    elif task == 'encoder':
        res = sections.bench_encoder(args)
    else:
        res = sections.bench_model(args, task)
    with open(args.worker_out, 'w') as f:
        json.dump(res, f)


def spawn(task: str, args, tmp: str) -> dict:
    """Run ``task`` in a fresh interpreter with this run's options; its JSON, or
    ``{'error': stderr tail}``. csa tasks run ``kernels.py`` as a script (torch alone)."""
    out = os.path.join(tmp, f'{task}.json')
    if task.startswith('csa-'):
        cmd = [sys.executable, kernels.__file__, '--task', task, '--csa-size', str(args.csa_size),
               '--warmup', str(args.warmup), '--repeats', str(args.repeats),
               '--threads', str(args.threads), '--worker-out', out]
    else:
        cmd = [sys.executable, '-m', 'declip_mm.benchmarks.runner', *args.raw, '--worker', task,
               '--worker-out', out]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, (SOURCE, os.environ.get(
        'PYTHONPATH')))))
    print(f'[benchmark] {task} ...', file=sys.stderr, flush=True)
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=repository_path(''), env=env,
                          check=False)
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
                    help='cuda: the GPU benchmark, declip_mm.benchmarks.gpu (its own options)')
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
    """Run the selected sections, each in subprocesses; write the JSON and the markdown
    (``argv``: the command line of ``tools/benchmark.py``). ``--device cuda`` hands the whole
    command line to the GPU benchmark (``gpu.py``)."""
    raw = list(sys.argv[1:] if argv is None else argv)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument('--device', default='cpu')
    if pre.parse_known_args(raw)[0].device == 'cuda':
        from .gpu import main as gpu_main
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
    for path, content in ((args.out_json, json.dumps(report, indent=1)), (args.out_md, text)):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        atomic_write_text(path, content + '\n')
    print(text)


if __name__ == '__main__':
    main()
