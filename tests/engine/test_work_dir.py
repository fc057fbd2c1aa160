"""The work dir: one training run at a time (a lock that a killed run's successor takes over),
``last_checkpoint`` relative to the work dir (moved and copied work dirs resume from their own
files), and a full disk (one line, no ``.part`` left, the last checkpoint kept, ``--resume``
works once there is space again).
"""
import os
import shutil
import subprocess
import sys

import pytest

from declip_mm.engine.work_dir import (LOCK_NAME, claim_work_dir, latest_checkpoint,
                                       lock_work_dir, relative_to_work_dir, unlock_work_dir)
from declip_mm.utils.errors import ConfigError
from declip_mm.checkpoint import safe_torch_load
from declip_mm.testing.toy import TOY_CONFIG

LOCK_IN_CHILD = """
import sys, time
from declip_mm.engine.work_dir import lock_work_dir
lock_work_dir(sys.argv[1])
print('locked', flush=True)
time.sleep(float(sys.argv[2]))
"""


def _child(work, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, '-c', LOCK_IN_CHILD, str(work), str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == 'locked'
    return proc


def test_second_run_refused_and_dead_holder_taken_over(tmp_path):
    work = tmp_path / 'work'
    holder = _child(work, 60)
    try:
        with pytest.raises(ConfigError, match=f'work dir {work} is in use by another training '
                                              f'run \\(host .* pid {holder.pid}'):
            lock_work_dir(str(work))
    finally:
        holder.kill()
        holder.wait()
    # kill -9 left the lock file behind, naming the dead process: it is taken over.
    assert f'pid {holder.pid}' in (work / LOCK_NAME).read_text()
    (work / 'iter_4.pth.part').write_bytes(b'half')
    notes = claim_work_dir(str(work))
    assert notes[0].startswith('took over the work dir lock left by host')
    assert f'pid {holder.pid}' in notes[0] and 'no longer running' in notes[0]
    assert notes[1] == f'removed {work / "iter_4.pth.part"}, left by a save that was interrupted'
    assert f'pid {os.getpid()}' in (work / LOCK_NAME).read_text()
    assert claim_work_dir(str(work)) == []  # this process holds it already
    unlock_work_dir(str(work))
    assert not (work / LOCK_NAME).exists()


def test_last_checkpoint_resolves_against_its_work_dir(tmp_path):
    work = tmp_path / 'w'
    work.mkdir()
    assert latest_checkpoint(str(work)) is None
    assert relative_to_work_dir(str(work / 'iter_2.pth'), str(work)) == 'iter_2.pth'
    assert relative_to_work_dir('/elsewhere/x.pth', str(work)) == '/elsewhere/x.pth'
    (work / 'last_checkpoint').write_text('iter_2.pth')
    assert latest_checkpoint(str(work)) == str(work / 'iter_2.pth')
    # an absolute path written by an older run: the work dir's own copy wins when it exists
    (work / 'last_checkpoint').write_text('/old/place/iter_2.pth')
    assert latest_checkpoint(str(work)) == '/old/place/iter_2.pth'
    (work / 'iter_2.pth').write_bytes(b'x')
    assert latest_checkpoint(str(work)) == str(work / 'iter_2.pth')


def _train(start_tool, tmp_path, cfg, work, log, *extra, **env):
    proc = start_tool('train.py', str(cfg), '--work-dir', str(work), *extra, cwd=str(tmp_path),
                      log=str(tmp_path / log), **env)
    proc.wait(300)
    return proc.returncode, (tmp_path / log).read_text()


def test_moved_and_copied_work_dirs_resume_from_their_own_files(tmp_path, start_tool):
    cfg2, cfg3 = tmp_path / 'toy2.py', tmp_path / 'toy3.py'
    cfg2.write_text(TOY_CONFIG.format(max_epochs=2))
    cfg3.write_text(TOY_CONFIG.format(max_epochs=3))
    first = tmp_path / 'first'
    status, log = _train(start_tool, tmp_path, cfg2, first, 'first.log')
    assert status == 0, log[-2000:]
    copied, moved = tmp_path / 'copied', tmp_path / 'moved'
    shutil.copytree(first, copied)
    os.rename(first, moved)
    for work in (copied, moved):
        status, log = _train(start_tool, tmp_path, cfg3, work, f'{work.name}.log', '--resume')
        assert status == 0, log[-2000:]
        assert f'Load checkpoint from {work / "epoch_2.pth"}' in log
        assert safe_torch_load(str(work / 'epoch_3.pth'))['meta']['epoch'] == 3
    assert not first.exists()


def test_disk_full_is_one_line_and_resume_works_once_space_is_back(tmp_path, start_tool):
    cfg = tmp_path / 'toy.py'
    cfg.write_text(TOY_CONFIG.format(max_epochs=3))
    work = tmp_path / 'work'
    status, log = _train(start_tool, tmp_path, cfg, work, 'full.log', DECLIP_TEST_ENOSPC='2')
    assert status == 1 and 'Traceback' not in log, log[-3000:]
    assert log.strip().splitlines()[-1] == (
        f'error: cannot write {work / "epoch_2.pth"}: No space left on device; removed the '
        f'partial file, {work / "epoch_1.pth"} is the last complete checkpoint. Free space and '
        'run again with --resume')
    assert sorted(p.name for p in work.glob('*.pth*')) == ['epoch_1.pth']
    assert (work / 'last_checkpoint').read_text() == 'epoch_1.pth'
    assert safe_torch_load(str(work / 'epoch_1.pth'))['meta']['epoch'] == 1
    status, log = _train(start_tool, tmp_path, cfg, work, 'resume.log', '--resume')
    assert status == 0, log[-3000:]
    assert 'resumed epoch: 1' in log
    assert sorted(p.name for p in work.glob('*.pth*')) == ['epoch_3.pth']
