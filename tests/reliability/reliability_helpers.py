"""Test-only pieces for the reliability tests, imported by configs through ``custom_imports``
(with ``tests/reliability`` on ``PYTHONPATH``) and by the tests themselves.

* ``DeCLIPTestPauseHook``: with ``DECLIP_TEST_PAUSE=EPOCH,ITER,MARKER`` set, writes ``MARKER``
  after training iteration ITER of epoch EPOCH (1-based) and sleeps, so a test can SIGKILL the
  run at a known point in the middle of an epoch.
* ``DECLIP_TEST_SLOW_SAVE=N,MARKER``: the N-th checkpoint write (1-based) writes half its bytes,
  writes ``MARKER`` and sleeps, so a test can SIGKILL the run in the middle of a save.
* ``DECLIP_TEST_ENOSPC=N``: the N-th checkpoint write (1-based) writes half its bytes and fails
  with ``OSError(ENOSPC)``, as a full disk does.
* ``DeCLIPToyRegressor`` / ``DeCLIPToyDataset``: a tiny mmengine model and dataset for runs that
  need no mmdet / mmseg (fast start-up).
"""
import os
import subprocess
import sys
import time

import numpy as np
import torch
from mmengine.fileio import LocalBackend
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.registry import DATASETS, HOOKS, MODELS
from torch.utils.data import Dataset

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = sys.executable
TOOLS = os.path.join(ROOT, 'tools')
DET = os.path.join(ROOT, 'tests', 'configs', 'tiny_det.py')
SEG = os.path.join(ROOT, 'tests', 'configs', 'tiny_seg.py')


def one_error(lines) -> str:
    """The single ``error:`` line of a tool's stderr, which must also be its last line."""
    errors = [line for line in lines if line.startswith('error: ')]
    assert len(errors) == 1, lines
    assert lines[-1] == errors[0]
    return errors[0]


def train(run, workspace, *options, config=DET):
    """``tools/train.py config`` through the ``run`` fixture; its one error line."""
    work = str(workspace / 'work')
    return one_error(run('train', config, '--work-dir', work, *options)[0])


def tool_env(**extra: str) -> dict:
    """Environment for running the tools in a subprocess (offline, 1 thread, helpers importable)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, HERE]), HF_HUB_OFFLINE='1',
               OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    env.pop('DECLIP_TRACEBACK', None)
    env.update(extra)
    return env


def start_tool(tool: str, *args: str, cwd: str, log: str, **env: str) -> subprocess.Popen:
    """Start ``tools/<tool>`` with ``args``; stdout and stderr go to the file ``log``."""
    out = open(log, 'w')
    return subprocess.Popen([PYTHON, os.path.join(ROOT, 'tools', tool), *args], cwd=cwd,
                            env=tool_env(**env), stdout=out, stderr=subprocess.STDOUT)


def wait_for(path: str, proc: subprocess.Popen, timeout: float = 300) -> None:
    """Block until ``path`` exists; fail if ``proc`` ends first or time runs out."""
    start = time.time()
    while not os.path.exists(path):
        if proc.poll() is not None:
            raise AssertionError(f'process ended (status {proc.returncode}) before {path}')
        if time.time() - start > timeout:
            raise AssertionError(f'{path} did not appear within {timeout}s')
        time.sleep(0.02)


@HOOKS.register_module()
class DeCLIPTestPauseHook(Hook):
    """Pause (sleep) after a given training iteration when ``DECLIP_TEST_PAUSE`` asks for it."""

    priority = 'LOWEST'

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        spec = os.environ.get('DECLIP_TEST_PAUSE')
        if not spec:
            return
        epoch, it, marker = spec.split(',', 2)
        if runner.epoch + 1 == int(epoch) and batch_idx + 1 == int(it):
            with open(marker, 'w') as f:
                f.write(str(runner.iter))
            time.sleep(600)


def _install_slow_save() -> None:
    spec = os.environ.get('DECLIP_TEST_SLOW_SAVE')
    if not spec:
        return
    nth, marker = spec.split(',', 1)
    original = LocalBackend.put
    calls = {'n': 0}

    def put(self, obj, filepath):
        if str(filepath).endswith(('.pth', '.pth.part')):
            calls['n'] += 1
            if calls['n'] == int(nth):
                with open(filepath, 'wb') as f:
                    f.write(obj[:len(obj) // 2])
                    f.flush()
                    os.fsync(f.fileno())
                with open(marker, 'w') as f:
                    f.write(str(filepath))
                time.sleep(600)
        return original(self, obj, filepath)

    LocalBackend.put = put


_install_slow_save()


def _install_disk_full() -> None:
    spec = os.environ.get('DECLIP_TEST_ENOSPC')
    if not spec:
        return
    import errno
    original = LocalBackend.put
    calls = {'n': 0}

    def put(self, obj, filepath):
        if str(filepath).endswith(('.pth', '.pth.part')):
            calls['n'] += 1
            if calls['n'] == int(spec):
                with open(filepath, 'wb') as f:
                    f.write(obj[:len(obj) // 2])
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return original(self, obj, filepath)

    LocalBackend.put = put


_install_disk_full()


@MODELS.register_module()
class DeCLIPToyRegressor(BaseModel):
    """y = W x + b with an MSE loss; ``torch.randn`` noise on the input makes RNG matter."""

    def __init__(self, noise: float = 0.1):
        super().__init__()
        self.linear = torch.nn.Linear(4, 2)
        self.noise = noise

    def forward(self, inputs, targets, mode='tensor'):
        x = torch.stack(inputs)
        x = x + self.noise * torch.randn_like(x) if self.training else x
        pred = self.linear(x)
        if mode == 'loss':
            return dict(loss=((pred - torch.stack(targets)) ** 2).mean())
        return pred


@DATASETS.register_module()
class DeCLIPToyDataset(Dataset):
    """``n`` fixed random (x, y) pairs."""

    def __init__(self, n: int = 16):
        g = torch.Generator().manual_seed(123)
        self.x = torch.randn(n, 4, generator=g)
        self.y = torch.randn(n, 2, generator=g)
        self.metainfo = dict(name='toy')

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return dict(inputs=self.x[i], targets=self.y[i])


@DATASETS.register_module()
class DeCLIPToyAugmentedDataset(DeCLIPToyDataset):
    """Toy pairs whose input gets numpy noise at every draw, as a random transform would."""

    def __getitem__(self, i):
        item = super().__getitem__(i)
        noise = torch.from_numpy(np.random.rand(4).astype('float32'))
        return dict(item, inputs=item['inputs'] + noise)


TOY_ITER_CONFIG = """
custom_imports = dict(imports=['declip_mm', 'reliability_helpers'], allow_failed_imports=False)
model = dict(type='DeCLIPToyRegressor')
train_dataloader = dict(batch_size=4, num_workers=0,
                        dataset=dict(type='DeCLIPToyAugmentedDataset'),
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        collate_fn=dict(type='pseudo_collate'))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=6)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9))
custom_hooks = [dict(type='DeCLIPTestPauseHook')]
default_hooks = dict(
    checkpoint=dict(type='DeCLIPCheckpointHook', by_epoch=False, interval=2, max_keep_ckpts=3),
    logger=dict(type='LoggerHook', interval=1))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0, deterministic=True)
"""

TOY_CONFIG = """
custom_imports = dict(imports=['declip_mm', 'reliability_helpers'], allow_failed_imports=False)
model = dict(type='DeCLIPToyRegressor')
train_dataloader = dict(batch_size=4, num_workers=0, dataset=dict(type='DeCLIPToyDataset'),
                        sampler=dict(type='DefaultSampler', shuffle=True),
                        collate_fn=dict(type='pseudo_collate'))
train_cfg = dict(by_epoch=True, max_epochs={max_epochs})
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9))
default_hooks = dict(
    checkpoint=dict(type='DeCLIPCheckpointHook', interval=1, max_keep_ckpts=1),
    logger=dict(type='LoggerHook', interval=1))
randomness = dict(seed=0, deterministic=True)
"""

