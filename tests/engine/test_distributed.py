"""tools/dist_train.sh with 2 processes (gloo, CPU) gives the loss curve of 1 process with the same
global batch: the tiny mmseg EncoderDecoder (tests/configs/tiny_seg.py), 2 x 2 images against
1 x 4, the same images in every step (InfiniteSampler deals the same shuffled stream round-robin).
The logged 2-process losses are averages over the processes (DeCLIPLossSyncHook).

Tolerance: the per-step losses agree to 1e-5 relative (measured: 2e-8) and the weights after 4
AdamW steps (lr 1e-3) to 1e-4 absolute (measured: 2.3e-5). Gradients are summed in another
order across processes; Adam divides each update by the root of its squared gradients, so the
rounding of near-zero gradients shows in the weights more than in the loss. No randomness in the
model.
"""
import glob
import json
import os
import socket
import subprocess
import sys

import numpy as np
import torch

from declip_mm.testing import make_tiny_seg
from declip_mm.checkpoint import safe_torch_load
from declip_mm.utils.package_paths import repository_path

CONFIG = """
_base_ = '{base}'
train_cfg = dict(max_iters=4, val_interval=1000)
val_dataloader = None
val_cfg = None
val_evaluator = None
default_hooks = dict(checkpoint=dict(interval=4))
randomness = dict(seed=0, deterministic=True)
find_unused_parameters = True  # the tiny backbone's later blocks / head feed no loss
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def logged_losses(work_dir) -> np.ndarray:
    path = glob.glob(os.path.join(str(work_dir), '*', 'vis_data', 'scalars.json'))[0]
    rows = [json.loads(line) for line in open(path)]
    return np.array([r['loss'] for r in rows if 'loss' in r])


def test_two_processes_match_one_process_with_same_global_batch(tmp_path, start_tool, tool_env):
    make_tiny_seg(str(tmp_path / 'data' / 'tiny_seg'), num_images=8)
    cfg = tmp_path / 'dist_seg.py'
    cfg.write_text(CONFIG.format(base=repository_path('tests/configs/tiny_seg.py')))
    one, two = tmp_path / 'one', tmp_path / 'two'
    single = start_tool('train.py', str(cfg), '--work-dir', str(one), '--cfg-options',
                        'train_dataloader.batch_size=4', cwd=str(tmp_path),
                        log=str(tmp_path / 'one.log'))
    dist = subprocess.run(
        ['bash', repository_path('tools/dist_train.sh'), str(cfg), '2', '--work-dir',
         str(two), '--cfg-options', 'train_dataloader.batch_size=2'],
        cwd=str(tmp_path), env=tool_env(PYTHON=sys.executable, PORT=str(free_port())),
        capture_output=True, text=True, timeout=600)
    assert dist.returncode == 0, (dist.stdout + dist.stderr)[-4000:]
    assert single.wait(600) == 0, (tmp_path / 'one.log').read_text()[-4000:]
    log = open(glob.glob(str(two / '*' / '*.log'))[0]).read()
    assert 'Distributed training: True' in log and "'backend': 'gloo'" in log

    a, b = logged_losses(one), logged_losses(two)
    assert len(a) == len(b) == 4
    assert np.allclose(a, b, rtol=1e-5, atol=0), (a, b)
    assert not np.allclose(a[0], a[-1])  # the curve moves: it is being compared, not a constant
    wa = safe_torch_load(str(one / 'iter_4.pth'))['state_dict']
    wb = safe_torch_load(str(two / 'iter_4.pth'))['state_dict']
    assert max((wa[k] - wb[k]).abs().max().item() for k in wa
               if torch.is_floating_point(wa[k])) <= 1e-4
