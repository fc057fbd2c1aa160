"""The GPU benchmark (``declip_mm.benchmarks.gpu``, ``tools/benchmark.py --device cuda``) runs
its code path on the CPU with tiny towers (``--device cpu --quick``), and ``--device cuda``
without a GPU stops with one line."""
import json
import os
import subprocess
import sys

import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(*args, timeout=600):
    env = dict(os.environ, PYTHONPATH=ROOT, HF_HUB_OFFLINE='1')
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_quick_cpu_run_fills_every_row(tmp_path):
    out_json, out_md = tmp_path / 'b.json', tmp_path / 'b.md'
    done = run('-m', 'declip_mm.benchmarks.gpu', '--device', 'cpu', '--quick', '--sizes', '32',
               '--repeats', '1', '--warmup', '0', '--out-json', str(out_json),
               '--out-md', str(out_md))
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out_json.read_text())
    assert report['meta']['device'] == 'cpu' and report['meta']['gpu'] is None
    enc = report['encoder']['rows']
    assert [(r['size'], r['dtype'], r['tokens']) for r in enc] == [(32, 'bf16', 17),
                                                                  (32, 'fp32', 17)]
    assert all(r['images_per_s'] > 0 and r['peak_gib'] is None for r in enc)
    fvit = report['fvit']['rows']
    assert len(fvit) == 1 and 'error' not in fvit[0], fvit
    assert fvit[0]['batch'] == 2 and fvit[0]['infer']['fp32']['images_per_s'] > 0
    assert fvit[0]['train']['iters_per_s'] > 0 and fvit[0]['amp'] == 'none'
    for section in ('catseg', 'distill'):
        assert 'error' not in report[section], report[section]
        assert report[section]['batch'] == 2 and report[section]['train']['iters_per_s'] > 0
    md = out_md.read_text()
    for title in ('## encode_dense throughput', '## F-ViT', '## Training iterations'):
        assert title in md
    assert 'failed' not in md


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the message shown without a GPU')
def test_benchmark_device_cuda_without_gpu_is_one_line(tmp_path):
    done = run('tools/benchmark.py', '--device', 'cuda', '--quick', '--out-json',
               str(tmp_path / 'b.json'), timeout=120)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith('error: --device cuda: torch sees no CUDA GPU'), done.stderr
