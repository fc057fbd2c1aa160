"""A kill in the middle of a checkpoint save leaves the previous checkpoint intact, loadable and
named by ``last_checkpoint``; ``--resume`` then cleans up and finishes.

The run keeps one checkpoint (``max_keep_ckpts=1``): mmengine's stock hook deletes the previous
file *before* writing the next one, straight under its final name, so the same kill would leave
a truncated ``epoch_2.pth`` and no ``epoch_1.pth``.
"""
import os
import signal

import pytest
import torch

from declip_mm.engine.atomic_io import atomic_write_text, remove_stale_parts
from declip_mm.utils.errors import CheckpointError
from declip_mm.checkpoint import safe_torch_load
from declip_mm.testing.toy import TOY_CONFIG


def test_kill_during_save_keeps_previous_checkpoint(tmp_path, start_tool, wait_for):
    cfg = tmp_path / 'toy.py'
    cfg.write_text(TOY_CONFIG.format(max_epochs=3))
    work, marker = tmp_path / 'work', str(tmp_path / 'saving')
    proc = start_tool('train.py', str(cfg), '--work-dir', str(work), cwd=str(tmp_path),
                      log=str(tmp_path / 'crash.log'), DECLIP_TEST_SLOW_SAVE=f'2,{marker}')
    try:
        wait_for(marker, proc)  # the second save has written half of its bytes
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    half_written = open(marker).read().strip()
    assert half_written == str(work / 'epoch_2.pth.part')
    with pytest.raises(CheckpointError):
        safe_torch_load(half_written)  # it really is truncated
    assert not (work / 'epoch_2.pth').exists()
    assert (work / 'last_checkpoint').read_text().strip() == 'epoch_1.pth'  # relative
    previous = safe_torch_load(str(work / 'epoch_1.pth'))
    assert previous['meta']['epoch'] == 1 and 'rng_state' in previous

    resumed = start_tool('train.py', str(cfg), '--work-dir', str(work), '--resume',
                         cwd=str(tmp_path), log=str(tmp_path / 'resume.log'))
    assert resumed.wait(300) == 0, (tmp_path / 'resume.log').read_text()[-3000:]
    log = (tmp_path / 'resume.log').read_text()
    assert f'removed {half_written}' in log and 'resumed epoch: 1' in log
    # max_keep_ckpts=1: older files went only after the newer ones were complete.
    assert sorted(p.name for p in work.glob('*.pth*')) == ['epoch_3.pth']
    assert safe_torch_load(str(work / 'epoch_3.pth'))['meta']['epoch'] == 3


def test_atomic_write_keeps_old_content_when_interrupted(tmp_path, monkeypatch):
    path = tmp_path / 'last_checkpoint'
    atomic_write_text(str(path), 'epoch_1.pth')

    def crash(*args):
        raise KeyboardInterrupt('killed before the rename')

    monkeypatch.setattr(os, 'replace', crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(str(path), 'epoch_2.pth')
    assert path.read_text() == 'epoch_1.pth'
    assert remove_stale_parts(str(tmp_path)) == [str(path) + '.part']


def test_rng_state_round_trips_through_weights_only_checkpoint(tmp_path):
    import random

    import numpy as np

    from declip_mm.engine.rng_state import get_rng_state, set_rng_state
    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    path = str(tmp_path / 'rng.pth')
    torch.save({'rng_state': [get_rng_state()]}, path)
    expected = (torch.rand(3), np.random.rand(3), random.random())
    torch.manual_seed(7), np.random.seed(7), random.seed(7)
    set_rng_state(safe_torch_load(path)['rng_state'][0])
    assert torch.equal(torch.rand(3), expected[0])
    assert np.array_equal(np.random.rand(3), expected[1]) and random.random() == expected[2]
