"""alpha weight ensembling: the function, the hook's file, and loading it into DeCLIPViT."""
import logging
from types import SimpleNamespace

import pytest
import torch

from declip_mm.models.backbones.declip_vit import DeCLIPViT
from declip_mm.engine.ensemble_hook import (DeCLIPEnsembleCheckpointHook,
                                                  ensemble_state_dict)
from declip_mm.testing import TINY_EVA
from declip_mm.utils.errors import ConfigError


def test_ensemble_state_dict_hand_computed():
    s = {'w': torch.tensor([1.0, 2.0]), 'h': torch.tensor([2.0], dtype=torch.float16),
         'n': torch.tensor([3])}
    t = {'w': torch.tensor([3.0, 6.0]), 'h': torch.tensor([4.0], dtype=torch.float16),
         'n': torch.tensor([7])}
    out = ensemble_state_dict(s, t, 0.75)
    assert out['w'].tolist() == [1.5, 3.0]
    assert out['h'].dtype == torch.float16 and out['h'].item() == 2.5
    assert out['n'].tolist() == [3]                     # integer buffers: the student's
    assert ensemble_state_dict(s, t, 2.0)['w'].tolist() == [1.0, 2.0]   # alpha >= 1: off
    with pytest.raises(ValueError, match='keys'):
        ensemble_state_dict(s, {'w': t['w']}, 0.5)
    with pytest.raises(ValueError, match='vs teacher'):
        ensemble_state_dict({'w': s['w']}, {'w': torch.zeros(3)}, 0.5)


def fake_runner(model, tmp_path, epoch=0, max_epochs=3):
    return SimpleNamespace(model=model, epoch=epoch, iter=17, max_epochs=max_epochs,
                           work_dir=str(tmp_path), logger=logging.getLogger('test'))


def test_hook_writes_a_declipvit_loadable_ensemble(tmp_path, build_distiller):
    model = build_distiller()
    with torch.no_grad():
        for p in model.student.parameters():
            p.add_(torch.randn_like(p))
    student = {k: v.clone() for k, v in model.student.state_dict().items()}
    teacher = {k: v.clone() for k, v in model.teacher.state_dict().items()}
    hook = DeCLIPEnsembleCheckpointHook(alpha=0.7, interval=2)
    hook.after_train_epoch(fake_runner(model, tmp_path, epoch=0))   # epoch 1: not due
    assert hook.last_path is None
    hook.after_train_epoch(fake_runner(model, tmp_path, epoch=1))   # epoch 2
    path = tmp_path / 'declip_backbone_epoch_2.pth'
    assert hook.last_path == str(path) and path.is_file()
    hook.after_train_epoch(fake_runner(model, tmp_path, epoch=2))   # last epoch always saved
    assert (tmp_path / 'declip_backbone_epoch_3.pth').is_file()
    # the student keeps training from its own weights
    assert all(torch.equal(student[k], v) for k, v in model.student.state_dict().items())

    saved = torch.load(str(path), weights_only=True)
    assert saved['meta']['alpha'] == 0.7 and saved['meta']['mode'] == 'csa'
    assert saved['meta']['epoch'] == 2
    backbone = DeCLIPViT(arch=dict(TINY_EVA), mode='csa',
                         init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    backbone.init_weights()
    for k, v in backbone.state_dict().items():
        assert torch.allclose(v, 0.7 * student[k] + 0.3 * teacher[k], atol=1e-6), k
    assert not torch.allclose(backbone.state_dict()['visual.trunk.blocks.0.attn.q_proj.weight'],
                              student['visual.trunk.blocks.0.attn.q_proj.weight'])


def test_hook_checks_its_model_and_alpha(tmp_path):
    with pytest.raises(ConfigError):
        DeCLIPEnsembleCheckpointHook(alpha=0)
    with pytest.raises(ConfigError, match='DeCLIPDistiller'):
        DeCLIPEnsembleCheckpointHook().after_train_epoch(
            fake_runner(torch.nn.Linear(2, 2), tmp_path, epoch=2, max_epochs=3))


def write_tiny_clip(path):
    """A tiny EVA CLIP checkpoint with both towers (declip_mm visual keys, ``text.*`` keys)."""
    from declip_mm.models.text.text_encoder import DeCLIPTextEncoder
    torch.manual_seed(1)
    visual = DeCLIPViT(arch=dict(TINY_EVA), mode='qq').state_dict()
    text = DeCLIPTextEncoder(arch=dict(TINY_EVA)).text.state_dict()
    torch.save(dict(state_dict=dict(visual, **{f'text.{k}': v for k, v in text.items()})),
               str(path))
    return text


def test_ensembled_file_carries_the_text_tower(tmp_path, build_distiller):
    from declip_mm.models.text.text_encoder import DeCLIPTextEncoder
    clip = tmp_path / 'tiny_clip.pth'
    text = write_tiny_clip(clip)
    model = build_distiller(mode='qq', student=dict(
        type='DeCLIPViT', arch=dict(TINY_EVA), mode='qq',
        init_cfg=dict(type='Pretrained', checkpoint=str(clip))))
    hook = DeCLIPEnsembleCheckpointHook(alpha=0.7)
    hook.after_train_epoch(fake_runner(model, tmp_path, epoch=0, max_epochs=1))
    saved = torch.load(hook.last_path, weights_only=True)
    assert saved['meta']['text_tower'] is True
    # the text encoder loads the same file, and gets the CLIP's text tower unchanged
    enc = DeCLIPTextEncoder(arch=dict(TINY_EVA),
                            init_cfg=dict(type='Pretrained', checkpoint=hook.last_path))
    enc.init_weights()
    loaded = enc.text.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in text.items() if k != 'attn_mask')
    # without a text source the file holds the image tower only
    off = DeCLIPEnsembleCheckpointHook(alpha=0.7, text_checkpoint=None,
                                       filename_tmpl='visual_only_{}.pth')
    off.after_train_epoch(fake_runner(model, tmp_path, epoch=0, max_epochs=1))
    keys = torch.load(off.last_path, weights_only=True)['state_dict']
    assert keys and all(k.startswith('visual.') for k in keys)


def test_validation_runs_on_the_ensembled_weights(tmp_path, build_distiller):
    model = build_distiller(mode='qq')
    with torch.no_grad():
        for p in model.student.parameters():
            p.add_(1.0)
    own = {k: v.clone() for k, v in model.student.state_dict().items()}
    teacher = model.teacher.state_dict()
    hook = DeCLIPEnsembleCheckpointHook(alpha=0.7)
    runner = fake_runner(model, tmp_path)
    hook.before_val_epoch(runner)
    during = model.student.state_dict()
    for k, v in during.items():
        assert torch.allclose(v, 0.7 * own[k] + 0.3 * teacher[k], atol=1e-6), k
    hook.after_val_epoch(runner, {})
    assert all(torch.equal(model.student.state_dict()[k], v) for k, v in own.items())
    # opting out validates the student as it trains
    plain = DeCLIPEnsembleCheckpointHook(alpha=0.7, validate_ensembled=False)
    plain.before_val_epoch(runner)
    assert all(torch.equal(model.student.state_dict()[k], v) for k, v in own.items())
