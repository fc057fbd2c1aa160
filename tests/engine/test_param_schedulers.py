"""The distillation lr schedule against the official formula (xiaomoguhz/DeCLIP cosine_lr)."""
import math
import os.path as osp

import pytest
import torch

import declip_mm  # noqa: F401  (registers DeCLIPCosineAfterWarmupLR)
from declip_mm.utils.errors import ConfigError

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
B16 = osp.join(ROOT, 'configs/declip/declip_eva02-b16_dinov2-b14_4xb4-6e_coco.py')


def official_lr(base: float, warmup: int, total: int, step: int) -> float:
    """Official cosine_lr: (s+1)/W warm-up, then a cosine over the remaining T - W steps."""
    if step < warmup:
        return base * (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / (total - warmup))) * base


def build_schedulers(cfgs, optimizer, epoch_length):
    """As mmengine's runner builds them (epoch-based ones converted to iterations)."""
    from mmengine.registry import PARAM_SCHEDULERS
    out = []
    for cfg in cfgs:
        cfg = dict(cfg)
        cls = PARAM_SCHEDULERS.get(cfg.pop('type'))
        if cfg.pop('convert_to_iter_based', False):
            out.append(cls.build_iter_from_epoch(optimizer, epoch_length=epoch_length, **cfg))
        else:
            out.append(cls(optimizer, **cfg))
    return out


def run_lrs(cfgs, epoch_length, epochs, base=1e-5):
    """The lr of every update of a run (what the optimizer uses at iteration s)."""
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=base)
    schedulers = build_schedulers(cfgs, optimizer, epoch_length)
    lrs = []
    for _ in range(epoch_length * epochs):
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        for s in schedulers:
            s.step()
    return lrs


def test_config_schedule_is_the_official_one_at_the_real_size():
    from mmengine.config import Config
    cfg = Config.fromfile(B16)
    sched = [c.to_dict() for c in cfg.param_scheduler]
    assert [c['type'] for c in sched] == ['LinearLR', 'DeCLIPCosineAfterWarmupLR']
    # COCO train2017 (118287 images) on 4 GPUs x 4, drop_last: 7393 iterations per epoch
    epoch_length, epochs, warmup, base = 7393, 6, 1000, 1e-5
    lrs = run_lrs(sched, epoch_length, epochs, base)
    total = epoch_length * epochs
    ref = [official_lr(base, warmup, total, s) for s in range(total)]
    worst = max(abs(a - b) for a, b in zip(lrs, ref)) / base
    assert worst < 1e-9                                       # exact up to float rounding
    for s in (0, 1, 499, 999, 1000, 1001, 20000, total - 1):  # spot checks
        assert lrs[s] == pytest.approx(ref[s], rel=1e-9, abs=1e-18)
    assert lrs[0] == pytest.approx(base / 1000) and lrs[999] == pytest.approx(base)
    assert lrs[1000] == pytest.approx(base)


def test_old_chained_schedule_differed_by_two_percent():
    """The replaced schedule (warm-up x a cosine over the whole run) is off by 2.1% of the lr."""
    epoch_length, epochs, warmup, base = 7393, 6, 1000, 1e-5
    old = [dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warmup),
           dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=0, end=epochs,
                T_max=epochs, convert_to_iter_based=True)]
    lrs = run_lrs(old, epoch_length, epochs, base)
    total = epoch_length * epochs
    worst = max(abs(lrs[s] - official_lr(base, warmup, total, s)) for s in range(total)) / base
    assert 0.020 < worst < 0.022


def test_short_run_hand_values():
    sched = [dict(type='LinearLR', start_factor=1 / 4, by_epoch=False, begin=0, end=4),
             dict(type='DeCLIPCosineAfterWarmupLR', warmup_iters=4, eta_min=0.0, by_epoch=True,
                  end=2, convert_to_iter_based=True)]
    lrs = run_lrs(sched, 6, 2, base=1.0)                     # 12 updates, cosine over 8
    expected = [0.25, 0.5, 0.75, 1.0] + [0.5 * (1 + math.cos(math.pi * e / 8)) for e in range(8)]
    assert lrs == pytest.approx(expected, abs=1e-12)


def test_bad_settings_are_config_errors():
    from declip_mm.engine.param_schedulers import DeCLIPCosineAfterWarmupLR
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    with pytest.raises(ConfigError, match='convert_to_iter_based'):
        DeCLIPCosineAfterWarmupLR(opt, warmup_iters=2, by_epoch=True, end=3)
    with pytest.raises(ConfigError, match='warmup_iters=50'):
        DeCLIPCosineAfterWarmupLR.build_iter_from_epoch(opt, warmup_iters=50, end=2,
                                                        epoch_length=10)
