"""A seeded CPU training run SIGKILLed in the middle of an epoch, then ``tools/train.py --resume``,
ends with exactly the weights (and optimizer state) of an uninterrupted run, and no completed
checkpoint is lost.

The run is the tiny mmdet Faster R-CNN (tests/configs/tiny_det.py): RPN and RoI sampling draw
random numbers every iteration and validation runs after each epoch, so only a resume that
restores the generators and keeps validation out of them can match bit for bit.
"""
import os
import signal

from declip_mm.testing import make_tiny_coco
from declip_mm.checkpoint import safe_torch_load
from declip_mm.testing.toy import TOY_ITER_CONFIG
from declip_mm.utils.package_paths import repository_path

CONFIG = """
_base_ = '{base}'
custom_imports = dict(imports=['declip_mm', 'declip_mm.testing.toy'], allow_failed_imports=False)
custom_hooks = [dict(type='DeCLIPTestPauseHook')]
train_cfg = dict(max_epochs=2, val_interval=1)
randomness = dict(seed=0, deterministic=True)
"""


def test_sigkill_mid_epoch_then_resume_matches_uninterrupted_run(tmp_path, start_tool, wait_for,
                                                                 max_abs_diff):
    make_tiny_coco(str(tmp_path / 'data' / 'tiny_coco'), num_images=8)  # 4 iterations / epoch
    cfg = tmp_path / 'crash_det.py'
    cfg.write_text(CONFIG.format(base=repository_path('tests/configs/tiny_det.py')))
    full, crashed = tmp_path / 'full', tmp_path / 'crashed'
    marker = str(tmp_path / 'paused')

    run_full = start_tool('train.py', str(cfg), '--work-dir', str(full), cwd=str(tmp_path),
                          log=str(tmp_path / 'full.log'))
    run_crash = start_tool('train.py', str(cfg), '--work-dir', str(crashed), cwd=str(tmp_path),
                           log=str(tmp_path / 'crash.log'), DECLIP_TEST_PAUSE=f'2,2,{marker}')
    try:
        wait_for(marker, run_crash)  # epoch 1 saved and validated, 2 of 4 steps of epoch 2 done
        os.kill(run_crash.pid, signal.SIGKILL)
        run_crash.wait(60)
    finally:
        if run_crash.poll() is None:
            run_crash.kill()
    assert run_crash.returncode == -signal.SIGKILL
    assert sorted(p.name for p in crashed.glob('*.pth')) == ['epoch_1.pth']
    assert (crashed / 'last_checkpoint').read_text().strip() == 'epoch_1.pth'  # relative
    epoch1_bytes = (crashed / 'epoch_1.pth').read_bytes()

    resumed = start_tool('train.py', str(cfg), '--work-dir', str(crashed), '--resume',
                         cwd=str(tmp_path), log=str(tmp_path / 'resume.log'))
    assert resumed.wait(600) == 0, (tmp_path / 'resume.log').read_text()[-3000:]
    assert run_full.wait(600) == 0, (tmp_path / 'full.log').read_text()[-3000:]
    log = (tmp_path / 'resume.log').read_text()
    assert 'resumed epoch: 1' in log and 'restored the random generators' in log

    # No completed checkpoint was lost or rewritten.
    assert (crashed / 'epoch_1.pth').read_bytes() == epoch1_bytes
    assert not list(crashed.glob('*.part'))
    a = safe_torch_load(str(full / 'epoch_2.pth'))
    b = safe_torch_load(str(crashed / 'epoch_2.pth'))
    assert a['meta']['epoch'] == b['meta']['epoch'] == 2
    assert a['state_dict'].keys() == b['state_dict'].keys()
    # Bit-identical on CPU (same thread count, deterministic algorithms): tolerance 0.
    assert max_abs_diff(a['state_dict'], b['state_dict']) == 0.0
    assert max_abs_diff(a['optimizer']['state'], b['optimizer']['state']) == 0.0
    # The run did learn something (the comparison is not between two untouched models).
    first = safe_torch_load(str(full / 'epoch_1.pth'))
    assert max_abs_diff(first['state_dict'], a['state_dict']) > 0


def test_iteration_loop_resume_restores_generators_before_the_first_new_draw(tmp_path, start_tool,
                                                                             wait_for,
                                                                             max_abs_diff):
    """An iteration loop skips the trained batches by drawing them again; the dataset's numpy
    noise (a random transform) of the first new batch must come from the saved state."""
    cfg = tmp_path / 'toy_iter.py'
    cfg.write_text(TOY_ITER_CONFIG)
    full, crashed, marker = tmp_path / 'full', tmp_path / 'crashed', str(tmp_path / 'paused')
    run_full = start_tool('train.py', str(cfg), '--work-dir', str(full), cwd=str(tmp_path),
                          log=str(tmp_path / 'full.log'))
    run_crash = start_tool('train.py', str(cfg), '--work-dir', str(crashed), cwd=str(tmp_path),
                           log=str(tmp_path / 'crash.log'), DECLIP_TEST_PAUSE=f'1,3,{marker}')
    try:
        wait_for(marker, run_crash)  # iter_2.pth saved, iteration 3 done
        os.kill(run_crash.pid, signal.SIGKILL)
        run_crash.wait(60)
    finally:
        if run_crash.poll() is None:
            run_crash.kill()
    resumed = start_tool('train.py', str(cfg), '--work-dir', str(crashed), '--resume',
                         cwd=str(tmp_path), log=str(tmp_path / 'resume.log'))
    assert resumed.wait(300) == 0, (tmp_path / 'resume.log').read_text()[-3000:]
    assert run_full.wait(300) == 0, (tmp_path / 'full.log').read_text()[-3000:]
    assert 'Advance dataloader 2 steps' in (tmp_path / 'resume.log').read_text()
    a = safe_torch_load(str(full / 'iter_6.pth'))
    b = safe_torch_load(str(crashed / 'iter_6.pth'))
    assert max_abs_diff(a['state_dict'], b['state_dict']) == 0.0
    assert max_abs_diff(a['optimizer']['state'], b['optimizer']['state']) == 0.0
    first = safe_torch_load(str(full / 'iter_2.pth'))
    assert max_abs_diff(first['state_dict'], a['state_dict']) > 0
