"""Configs say what runs: the crash-safe checkpoint hook, the image loader and the hooks of
``configs/_base_/default_runtime_*.py`` are named in the shipped configs (no tool swaps them in),
so mmdet's own ``tools/train.py`` runs the same components as declip_mm's."""
import glob
import os
import subprocess
import sys

import pytest
from mmengine.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHIPPED = sorted(p for p in glob.glob(os.path.join(ROOT, 'configs', '**', '*.py'), recursive=True)
                 if '/examples/' not in p and '/_base_/' not in p
                 and not os.path.basename(p).startswith('_base_'))
STOCK_LOADERS = ('LoadImageFromFile', 'mmcv.LoadImageFromFile', 'mmdet.LoadImageFromFile',
                 'mmseg.LoadImageFromFile')


def _types(node, key='type'):
    if isinstance(node, dict):
        if key in node:
            yield node[key]
        for value in node.values():
            yield from _types(value, key)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _types(value, key)


@pytest.mark.parametrize('path', SHIPPED, ids=lambda p: os.path.relpath(p, ROOT))
def test_shipped_config_names_the_reliable_components(path):
    cfg = Config.fromfile(path)
    hook = cfg.get('default_hooks', {}).get('checkpoint')
    if hook is not None:
        assert hook['type'] == 'DeCLIPCheckpointHook'
    hooks = [h['type'] for h in cfg.get('custom_hooks') or []]
    if cfg.get('train_dataloader'):
        assert 'DeCLIPLossSyncHook' in hooks
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert not set(_types(cfg.get(name))) & set(STOCK_LOADERS), name


def test_tools_do_not_swap_types():
    import declip_mm.engine.config_tools as tools
    assert not hasattr(tools, 'use_reliable_components')


def test_mmdet_own_train_tool_runs_the_same_components(tmp_path):
    """mmdet's tools/train.py (its entry point, not ours) on the tiny detector config."""
    import mmdet
    from declip_mm.testing import make_tiny_coco
    tool = os.path.join(os.path.dirname(mmdet.__file__), '.mim', 'tools', 'train.py')
    if not os.path.isfile(tool):
        pytest.skip(f'mmdet ships no tools/train.py here ({tool})')
    make_tiny_coco(str(tmp_path / 'data' / 'tiny_coco'), num_images=4)
    work = tmp_path / 'work'
    env = dict(os.environ, PYTHONPATH=ROOT, HF_HUB_OFFLINE='1', OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, tool, os.path.join(ROOT, 'tests', 'configs', 'tiny_det.py'),
         '--work-dir', str(work), '--cfg-options', 'val_dataloader=None', 'val_cfg=None',
         'val_evaluator=None'], cwd=str(tmp_path), env=env, capture_output=True, text=True,
        timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    log = open(glob.glob(str(work / '*' / '*.log'))[0]).read()
    for name in ('DeCLIPCheckpointHook', 'DeCLIPLossSyncHook', 'DeCLIPVocabularyCheckHook',
                 'DeCLIPLoadImageFromFile'):
        assert name in log, name
    assert (work / 'last_checkpoint').read_text() == 'epoch_1.pth'  # our hook wrote it
    assert not (work / '.declip_train.lock').exists()  # released at the end of training
