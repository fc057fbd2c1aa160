"""Checkpoints load with ``weights_only`` and declip_mm's allow-list only.

* A pickle that would run code is refused, by torch.load itself (what mmengine calls), by
  ``safe_torch_load`` and by the tools, with one line naming the file; the code never runs.
* ``builtins.getattr`` is allowed only on mmengine's ``HistoryBuffer``.
* The files users have still load: official DeCLIP ``epoch_N.pt`` (state dict, AdamW state, AMP
  scaler, DDP ``module.`` prefix), raw EVA-CLIP files, open_clip state dicts, and mmengine
  checkpoints written under numpy 1.x (old ``numpy.core.multiarray`` names).
"""
import os
import pickle
import re
import sys

import numpy as np
import pytest
import torch

import declip_mm  # noqa: F401  (registers the allow-list)
from declip_mm.checkpoint import load_backbone_checkpoint
from declip_mm.models.backbones.declip_vit import DeCLIPViT
from declip_mm.testing import TINY_EVA, TINY_VIT
from declip_mm.testing.checkpoints import to_eva_clip
from declip_mm.utils.errors import CheckpointError
from declip_mm.utils.package_paths import repository_path
from declip_mm.checkpoint import safe_torch_load

class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


class _GetattrOnNdarray:
    def __reduce__(self):
        return (getattr, (np.ndarray, 'tofile'))


def _evil(tmp_path):
    marker = tmp_path / 'code_ran'
    path = str(tmp_path / 'evil.pth')
    torch.save({'meta': {}, 'state_dict': {'w': torch.ones(1)}, 'x': _RunsCode(marker)}, path)
    return path, marker


def test_torch_load_itself_refuses_code(tmp_path):
    path, marker = _evil(tmp_path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, map_location='cpu')  # mmengine's call: weights_only by default
    with pytest.raises(CheckpointError, match=r'^refusing to load .*evil\.pth: it contains '
                                              r'(posix|os|nt)\.system'):
        safe_torch_load(path)
    assert not marker.exists()


def test_getattr_only_on_history_buffer(tmp_path):
    path = str(tmp_path / 'getattr.pth')
    torch.save({'x': _GetattrOnNdarray()}, path)
    with pytest.raises(CheckpointError, match='refusing to load'):
        safe_torch_load(path)


@pytest.mark.parametrize('tool', ['test', 'resume'])
def test_tools_refuse_code_with_one_line(tmp_path, tool, tool_env):
    import subprocess

    from declip_mm.testing.toy import TOY_CONFIG
    path, marker = _evil(tmp_path)
    cfg = tmp_path / 'toy.py'
    cfg.write_text(TOY_CONFIG.format(max_epochs=1) + 'test_dataloader = train_dataloader\n'
                   "test_cfg = dict(type='TestLoop')\ntest_evaluator = dict(type='DumpResults', "
                   f"out_file_path='{tmp_path / 'out.pkl'}')\n")
    args = ([repository_path('tools/test.py'), str(cfg), path] if tool == 'test' else
            [repository_path('tools/train.py'), str(cfg), '--resume', path])
    proc = subprocess.run([sys.executable, *args, '--work-dir', str(tmp_path / 'w')],
                          cwd=str(tmp_path), env=tool_env(), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert re.match(rf'error: refusing to load {re.escape(path)}: it contains (posix|os)\.system,'
                    ' which is not a type mmengine or declip_mm writes', last), last
    assert not marker.exists()


def _eva_clip_layout(model: DeCLIPViT) -> dict:
    """The backbone's weights under EVA-CLIP / official DeCLIP names (``visual.*``)."""
    sd = to_eva_clip({k: v.clone() for k, v in model.state_dict().items()})
    sd['text.token_embedding.weight'] = torch.randn(10, 32)
    sd['logit_scale'] = torch.tensor(4.6)
    return sd


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                 b.state_dict().values()))


def _adamw_state(sd: dict) -> dict:
    params = [torch.nn.Parameter(v.clone()) for v in list(sd.values())[:3]]
    opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.98))
    sum(p.sum() for p in params).backward()
    opt.step()
    return opt.state_dict()


def test_official_declip_epoch_file_loads(tmp_path):
    torch.manual_seed(0)
    src, dst = DeCLIPViT(TINY_EVA), DeCLIPViT(TINY_EVA)
    sd = {'module.' + k: v for k, v in _eva_clip_layout(src).items()}  # trained with DDP
    path = str(tmp_path / 'epoch_6.pt')
    torch.save({'epoch': 6, 'name': 'declip_eva_b', 'state_dict': sd,
                'optimizer': _adamw_state(sd),
                'scaler': {'scale': 65536.0, 'growth_factor': 2.0, 'backoff_factor': 0.5,
                           'growth_interval': 2000, '_growth_tracker': 0}}, path)
    loaded = safe_torch_load(path)
    assert loaded['epoch'] == 6 and loaded['optimizer']['param_groups'][0]['betas'] == (0.9, 0.98)
    load_backbone_checkpoint(dst, path)
    assert _same_weights(src, dst)


def test_raw_eva_clip_file_loads(tmp_path):
    torch.manual_seed(1)
    src, dst = DeCLIPViT(TINY_EVA), DeCLIPViT(TINY_EVA)
    path = str(tmp_path / 'EVA02_CLIP_B_psz16_s8B.pt')
    torch.save(_eva_clip_layout(src), path)
    load_backbone_checkpoint(dst, path)
    assert _same_weights(src, dst)


def test_open_clip_state_dict_loads(tmp_path):
    import open_clip
    torch.manual_seed(2)
    clip = open_clip.CLIP(**{k: v for k, v in TINY_VIT.items()})
    path = str(tmp_path / 'open_clip_model.bin')
    torch.save(clip.state_dict(), path)
    dst = DeCLIPViT(TINY_VIT)
    load_backbone_checkpoint(dst, path)
    ref = {k: v for k, v in clip.state_dict().items() if k.startswith('visual.')}
    assert all(torch.equal(ref[k], v) for k, v in dst.state_dict().items() if k in ref)
    assert set(dst.state_dict()) <= set(ref)


def test_mmengine_checkpoint_written_under_numpy_1_loads(tmp_path):
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('declip_numpy1_test')
    hub.update_scalar('train/loss', np.float64(0.25))
    hub.update_info('best_score', np.float64(0.5))
    ckpt = dict(meta=dict(seed=np.int64(1), epoch=3), message_hub=hub.state_dict(),
                state_dict={'w': torch.ones(2)})
    path = str(tmp_path / 'numpy2.pth')
    torch.save(ckpt, path, _use_new_zipfile_serialization=False)  # plain pickle stream
    raw = open(path, 'rb').read()
    assert b'numpy._core.multiarray' in raw
    old = str(tmp_path / 'numpy1.pth')
    with open(old, 'wb') as f:  # what numpy 1.x writes: the functions' old module path
        f.write(raw.replace(b'numpy._core.multiarray', b'numpy.core.multiarray'))
    loaded = torch.load(old, map_location='cpu')
    assert loaded['meta']['seed'] == 1 and loaded['message_hub']['runtime_info'][
        'best_score'] == 0.5
    assert safe_torch_load(old)['state_dict']['w'].sum().item() == 2
