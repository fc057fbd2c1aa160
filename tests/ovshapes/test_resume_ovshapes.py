"""Exact resume of the shipped OV-Shapes F-ViT config (an iteration loop, RandomFlip on), at CI
size: 6 iterations of 2 images, a checkpoint every 2.

``kill -9`` after iteration 3 (the last checkpoint is ``iter_2.pth``), and ``kill -9`` in the
middle of writing ``iter_4.pth``; each run is then resumed with ``tools/train.py --resume`` and
must end with exactly the weights and AdamW state of an uninterrupted run (tolerance 0).

On resume, mmengine's iteration loop draws the already-trained batches again to skip them and
then the first new batch; RandomFlip draws from numpy's generator for each image. The saved
generator state must therefore be restored after the skipped batches and *before* the first
new one is drawn; restoring it in ``before_train_iter`` (after the draw) flips that batch with
the wrong random numbers and the runs diverge.
"""
import os
import signal

from declip_mm.datasets.ov_shapes.writer import write_split
from declip_mm.checkpoint import safe_torch_load
from declip_mm.utils.package_paths import repository_path

SHIPPED = repository_path('configs/ovshapes/fvit_tiny-declip_ovshapes.py')
CONFIG = """
_base_ = '{base}'
custom_imports = dict(imports=['declip_mm', 'declip_mm.testing.toy'], allow_failed_imports=False)
custom_hooks = [dict(type='DeCLIPLossSyncHook'), dict(type='DeCLIPVocabularyCheckHook'),
                dict(type='DeCLIPTestPauseHook')]
train_dataloader = dict(batch_size=2)
train_cfg = dict(max_iters=6, val_interval=1000)
val_dataloader = None
val_cfg = None
val_evaluator = None
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=6)]
default_hooks = dict(checkpoint=dict(interval=2, max_keep_ckpts=3),
                     logger=dict(interval=1))
randomness = dict(seed=0, deterministic=True)
"""


def _kill_at(wait_for, marker: str, proc) -> None:
    try:
        wait_for(marker, proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL


def test_ovshapes_fvit_resume_after_kill_is_bit_identical(tmp_path, start_tool, wait_for,
                                                          max_abs_diff):
    write_split(str(tmp_path / 'data' / 'ovshapes' / 'train_base'), 8, seed=1, base_only=True)
    cfg = tmp_path / 'resume_fvit.py'
    cfg.write_text(CONFIG.format(base=SHIPPED))
    full, paused, saving = tmp_path / 'full', tmp_path / 'paused', tmp_path / 'saving'

    def train(work, log, *extra, **env):
        return start_tool('train.py', str(cfg), '--work-dir', str(work), *extra,
                          cwd=str(tmp_path), log=str(tmp_path / log), **env)

    run_full = train(full, 'full.log')
    _kill_at(wait_for, str(tmp_path / 'after3'), train(paused, 'paused.log',
                                               DECLIP_TEST_PAUSE=f'1,3,{tmp_path / "after3"}'))
    _kill_at(wait_for, str(tmp_path / 'in_save'), train(saving, 'saving.log',
                                                DECLIP_TEST_SLOW_SAVE=f'2,{tmp_path / "in_save"}'))
    assert (paused / 'last_checkpoint').read_text().strip() == 'iter_2.pth'
    assert (saving / 'iter_4.pth.part').is_file() and not (saving / 'iter_4.pth').exists()
    assert (saving / 'last_checkpoint').read_text().strip() == 'iter_2.pth'

    for work in (paused, saving):
        proc = train(work, f'{work.name}_resume.log', '--resume')
        log = tmp_path / f'{work.name}_resume.log'
        assert proc.wait(600) == 0, log.read_text()[-3000:]
        text = log.read_text()
        assert 'Advance dataloader 2 steps' in text
        assert 'restored the random generators' in text
    assert run_full.wait(600) == 0, (tmp_path / 'full.log').read_text()[-3000:]
    assert 'RandomFlip' in (tmp_path / 'full.log').read_text()  # the random transform is on

    a = safe_torch_load(str(full / 'iter_6.pth'))
    for work in (paused, saving):
        b = safe_torch_load(str(work / 'iter_6.pth'))
        assert b['meta']['iter'] == a['meta']['iter'] == 6
        assert max_abs_diff(a['state_dict'], b['state_dict']) == 0.0, work.name
        assert max_abs_diff(a['optimizer']['state'], b['optimizer']['state']) == 0.0, work.name
        assert not list(work.glob('*.part'))
    first = safe_torch_load(str(full / 'iter_2.pth'))['state_dict']
    moved = {k: v for k, v in first.items() if v.is_floating_point()}
    assert max_abs_diff(moved, a['state_dict']) > 0  # training moved the weights
