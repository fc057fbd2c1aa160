"""A toy mmengine model, dataset and pause hook for training runs that need no mmdet / mmseg
(fast start-up), and the configs that use them. Configs import this module through
``custom_imports`` (which also imports :mod:`declip_mm.testing.faults`).

* ``DeCLIPTestPauseHook``: with ``DECLIP_TEST_PAUSE=EPOCH,ITER,MARKER`` set, writes ``MARKER``
  after training iteration ITER of epoch EPOCH (1-based) and sleeps, so a test can SIGKILL the
  run at a known point in the middle of an epoch.
* ``DeCLIPToyRegressor`` / ``DeCLIPToyDataset`` / ``DeCLIPToyAugmentedDataset``.
* ``TOY_CONFIG`` (epoch loop; format with ``max_epochs``), ``TOY_ITER_CONFIG`` (6 iterations,
  pause hook on).
"""
import os
import time

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.registry import DATASETS, HOOKS, MODELS
from torch.utils.data import Dataset

from . import faults  # noqa: F401  (env-triggered checkpoint-write faults)


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


@MODELS.register_module()
class DeCLIPToyRegressor(BaseModel):
    """y = W x + b with an MSE loss; ``torch.randn`` noise on the input makes RNG matter.

    Inputs are lists of (4,) tensors, targets lists of (2,) tensors."""

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
    """``n`` fixed random (x, y) pairs: x (4,), y (2,)."""

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
custom_imports = dict(imports=['declip_mm', 'declip_mm.testing.toy'], allow_failed_imports=False)
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
custom_imports = dict(imports=['declip_mm', 'declip_mm.testing.toy'], allow_failed_imports=False)
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
