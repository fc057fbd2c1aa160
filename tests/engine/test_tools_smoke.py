"""Foundation smoke tests: mmdet and mmseg configs with custom_imports=['declip_mm'] train with
tools/train.py, save a checkpoint, evaluate it with tools/test.py and resume from it."""
import glob
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_tool(*args: str, cwd: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=ROOT, HF_HUB_OFFLINE='1', OMP_NUM_THREADS='2')
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def assert_ok(proc: subprocess.CompletedProcess) -> str:
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


@pytest.mark.parametrize('kind', ['det', 'seg'])
def test_train_test_resume(tmp_path, kind):
    from declip_mm.testing import make_tiny_coco, make_tiny_seg
    data = tmp_path / 'data'
    if kind == 'det':
        make_tiny_coco(str(data / 'tiny_coco'), num_images=4)
    else:
        make_tiny_seg(str(data / 'tiny_seg'), num_images=4)
    cfg = os.path.join(ROOT, 'tests', 'configs', f'tiny_{kind}.py')
    work = tmp_path / 'work'
    assert_ok(run_tool(os.path.join(ROOT, 'tools', 'train.py'), cfg, '--work-dir', str(work),
                       cwd=str(tmp_path)))
    ckpts = sorted(glob.glob(str(work / '*.pth')))
    assert ckpts, 'training wrote no checkpoint'
    last = os.path.join(str(work), open(work / 'last_checkpoint').read().strip().split('/')[-1])
    out = assert_ok(run_tool(os.path.join(ROOT, 'tools', 'test.py'), cfg, last,
                             '--work-dir', str(tmp_path / 'test'), cwd=str(tmp_path)))
    assert ('coco/bbox_mAP' in out) if kind == 'det' else ('mIoU' in out)
    # Resume from the checkpoint and train one more epoch / a few more iterations.
    extra = (['train_cfg.max_epochs=2'] if kind == 'det' else ['train_cfg.max_iters=6'])
    out = assert_ok(run_tool(os.path.join(ROOT, 'tools', 'train.py'), cfg, '--work-dir',
                             str(work), '--resume', last, '--cfg-options', *extra,
                             cwd=str(tmp_path)))
    assert 'resumed' in out.lower()


def test_missing_checkpoint_is_one_line(tmp_path):
    cfg = os.path.join(ROOT, 'tests', 'configs', 'tiny_det.py')
    proc = run_tool(os.path.join(ROOT, 'tools', 'test.py'), cfg, str(tmp_path / 'nope.pth'),
                    cwd=str(tmp_path))
    assert proc.returncode == 1
    assert 'Traceback' not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        f'error: checkpoint file not found: {tmp_path / "nope.pth"}')
