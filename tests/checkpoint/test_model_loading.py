"""Whole-model loading (declip_mm.checkpoint.model_loading): tools/test.py, load_from, --resume
and the demo load strictly, name the file, and take a text tower the file lacks from the
model's own init_cfg (issue 18.6)."""
import os
import subprocess
import sys

import pytest
import torch

from declip_mm.checkpoint.model_loading import (check_load_from, check_resume_checkpoint,
                                                load_model_checkpoint, require_init_weights)
from declip_mm.utils.errors import CheckpointError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(ROOT, 'configs', 'ovshapes', 'seg_training-free_tiny-declip_ovshapes.py')


def build(config=CONFIG, options=()):
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope

    import declip_mm  # noqa: F401
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(dict(options))
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    return cfg, MODELS.build(cfg.model)


def test_text_tower_from_init_cfg_when_the_file_has_none(caplog):
    """tiny_declip.pt holds the image tower only: the text encoder comes from its init_cfg
    (tiny_clip.pt), said in one log line; the backbone is the file's."""
    from declip_mm.checkpoint import read_checkpoint, text_state_dict, visual_state_dict
    from declip_mm.datasets.ov_shapes.arch import ASSET_DIR, TINY_CLIP_CHECKPOINT
    from mmengine.logging import MMLogger
    MMLogger.get_instance('declip_test_model_loading')
    _, model = build()
    path = os.path.join(ASSET_DIR, 'tiny_declip.pt')
    load_model_checkpoint(model, path)
    visual = visual_state_dict(read_checkpoint(path))
    text = text_state_dict(read_checkpoint(TINY_CLIP_CHECKPOINT))
    for k, v in visual.items():
        assert torch.equal(model.backbone.state_dict()[k], v.float()), k
    for k, v in text.items():
        assert torch.equal(model.text_encoder.text.state_dict()[k], v.float()), k


def test_partial_text_tower_is_still_refused(tmp_path):
    from declip_mm.datasets.ov_shapes.arch import ASSET_DIR
    from declip_mm.checkpoint import read_checkpoint
    _, model = build()
    sd = {'backbone.' + k: v for k, v in read_checkpoint(
        os.path.join(ASSET_DIR, 'tiny_declip.pt')).items()}
    sd['text_encoder.text.ln_final.weight'] = model.text_encoder.text.ln_final.weight.clone()
    torch.save({'state_dict': sd}, tmp_path / 'partial.pth')
    with pytest.raises(CheckpointError, match=r'partial\.pth does not fit this '
                                              r'DeCLIPTrainingFreeSegmentor: \d+ missing: '
                                              r'text_encoder\.text\.'):
        load_model_checkpoint(model, str(tmp_path / 'partial.pth'))
    _, bare = build(options={'model.text_encoder.init_cfg': None})
    with pytest.raises(CheckpointError, match='missing: text_encoder.text.'):
        load_model_checkpoint(bare, os.path.join(ASSET_DIR, 'tiny_declip.pt'))


@pytest.mark.parametrize('content', [b'', b'plain text, not weights\n' * 30, None])
def test_unreadable_files_are_one_line_on_every_path(tmp_path, content):
    _, model = build()
    path = str(tmp_path / 'bad.pth')
    if content is None:      # truncated
        torch.save({'state_dict': model.state_dict()}, path)
        with open(path, 'rb') as f:
            data = f.read()
        content = data[:len(data) // 2]
    with open(path, 'wb') as f:
        f.write(content)
    for load in (lambda: load_model_checkpoint(model, path), lambda: check_load_from(model, path),
                 lambda: check_resume_checkpoint(model, path)):
        with pytest.raises(CheckpointError, match=r'^cannot read checkpoint .*bad\.pth') as err:
            load()
        assert '\n' not in str(err.value)


def test_detector_shape_refusal_names_the_file(tmp_path):
    _, model = build(os.path.join(ROOT, 'configs', 'ovshapes', 'fvit_tiny-declip_ovshapes.py'),
                     {'model.backbone.init_cfg': None, 'model.text_encoder.init_cfg': None,
                      'model.text_encoder.cache_dir': None})
    sd = {k: v for k, v in model.state_dict().items()}
    key = next(k for k in sd if k.startswith('roi_head.') and k.endswith('weight'))
    sd[key] = torch.zeros(*[s + 1 for s in sd[key].shape])
    torch.save({'state_dict': sd}, tmp_path / 'other.pth')
    with pytest.raises(CheckpointError) as err:
        load_model_checkpoint(model, str(tmp_path / 'other.pth'))
    msg = str(err.value)
    assert msg.startswith(f'{tmp_path / "other.pth"}: checkpoint does not fit this DeCLIPFViT')
    assert key in msg and '\n' not in msg


def test_no_weights_at_all_is_refused():
    _, model = build(options={'model.backbone.init_cfg': None})
    with pytest.raises(CheckpointError, match=r'no weights for \d+ tensors of this '
                                              r'DeCLIPTrainingFreeSegmentor \(backbone\.'):
        require_init_weights(model, 'give --checkpoint')
    _, model = build()
    require_init_weights(model, 'give --checkpoint')      # both towers have a checkpoint


def run_tool(*args, cwd):
    env = dict(os.environ, PYTHONPATH=ROOT, HF_HUB_OFFLINE='1', OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_config_header_command_evaluates_tiny_declip(tmp_path):
    """The command in the training-free OV-Shapes config's header (issue 18.6)."""
    from declip_mm.datasets.ov_shapes import SPLITS
    from declip_mm.datasets.ov_shapes.writer import write_split
    write_split(str(tmp_path / 'data' / 'test'), 4, SPLITS['test'].seed, False)
    proc = run_tool(os.path.join(ROOT, 'tools', 'test.py'), CONFIG,
                    os.path.join(ROOT, 'declip_mm', 'assets', 'ovshapes', 'tiny_declip.pt'),
                    '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                    f'test_dataloader.dataset.data_root={tmp_path / "data"}/', cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    assert 'holds no weights for text_encoder' in out and 'tiny_clip.pt' in out
    assert 'mIoU' in out


def test_text_file_to_test_py_is_one_line(tmp_path):
    (tmp_path / 'notes.pth').write_text('these are notes, not weights\n' * 40)
    proc = run_tool(os.path.join(ROOT, 'tools', 'test.py'), CONFIG, str(tmp_path / 'notes.pth'),
                    '--work-dir', str(tmp_path / 'w'), cwd=str(tmp_path))
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    assert proc.stderr.strip().splitlines()[-1].startswith(
        f'error: cannot read checkpoint {tmp_path / "notes.pth"}: not a torch checkpoint')


def test_load_failure_other_than_shapes_is_one_line(tmp_path):
    from declip_mm.checkpoint.model_loading import load_state_into

    class Refuses(torch.nn.Linear):
        def _load_from_state_dict(self, *args, **kwargs):
            raise RuntimeError('weights of an unsupported kind\nsecond line')

    model = Refuses(2, 2)
    with pytest.raises(CheckpointError, match=r'cannot load F\.pth into Refuses: second line'):
        load_state_into(model, {k: v.clone() for k, v in model.state_dict().items()}, 'F.pth',
                        True, '')


def test_whole_model_pretrained_init_cfg_is_strict(tmp_path):
    """A top-level ``init_cfg=Pretrained`` (list form, with ``prefix``) goes through the strict
    loader: its values land in the model, and a file missing a tensor is one line."""
    _, model = build()
    model.init_weights()
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    key = next(k for k in sd if k.startswith('backbone.') and sd[k].is_floating_point())
    sd[key] += 1.0                        # a value no sub-module init_cfg would give
    torch.save({'state_dict': {'model.' + k: v for k, v in sd.items()}}, tmp_path / 'full.pth')
    init = [dict(type='Pretrained', checkpoint=str(tmp_path / 'full.pth'), prefix='model.')]
    _, again = build(options={'model.init_cfg': init})
    again.init_weights()
    assert torch.equal(again.state_dict()[key], sd[key])
    del sd[key]
    torch.save({'state_dict': sd}, tmp_path / 'partial.pth')
    _, third = build(options={'model.init_cfg': dict(type='Pretrained',
                                                     checkpoint=str(tmp_path / 'partial.pth'))})
    with pytest.raises(CheckpointError, match=r'partial\.pth does not fit .*1 missing: ' + key):
        third.init_weights()
