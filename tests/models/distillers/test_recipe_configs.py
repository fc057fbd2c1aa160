"""The default distillation configs are the official scripts' recipe (qq_vfm_distill)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from declip_mm.testing import TINY_EVA
from declip_mm.testing.distill import TINY_DINOV2

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CFG = osp.join(ROOT, 'configs/declip')
B16 = osp.join(CFG, 'declip_eva02-b16_dinov2-b14_4xb4-6e_coco.py')
L14 = osp.join(CFG, 'declip_eva02-l14-336_dinov2-l14_4xb2-6e_coco.py')


def load(path):
    return Config.fromfile(path)


@pytest.mark.parametrize('path, arch, batch, alpha, crop, grid', [
    (B16, 'EVA02-CLIP-B-16', 4, 0.7, 224, 35),
    (L14, 'EVA02-CLIP-L-14-336', 2, 0.95, 336, 40)])
def test_official_recipe_settings(path, arch, batch, alpha, crop, grid):
    cfg = load(path)
    m = cfg.model
    assert m.student.arch == arch and m.student.mode == 'qq'
    assert m.content_loss.loss_weight == 1.0 and m.context_loss.loss_weight == 0.1
    assert cfg.train_dataloader.batch_size == batch
    assert cfg.optim_wrapper.optimizer.lr == 1e-5 and cfg.optim_wrapper.optimizer.weight_decay == 0.1
    assert cfg.train_cfg.max_epochs == 6 and cfg.train_cfg.val_interval == 1
    assert [s.type for s in cfg.param_scheduler] == ['LinearLR', 'DeCLIPCosineAfterWarmupLR']
    assert cfg.param_scheduler[0].end == 1000 and cfg.param_scheduler[1].warmup_iters == 1000
    assert cfg.randomness == dict(seed=0, diff_rank_seed=True)
    hooks = [h for h in cfg.custom_hooks if h.type == 'DeCLIPEnsembleCheckpointHook']
    assert len(hooks) == 1 and hooks[0].alpha == alpha
    train = {t.type: t for t in cfg.train_dataloader.dataset.pipeline}
    assert train['DeCLIPRegionCrops'].size == crop
    assert [t.size for t in cfg.train_dataloader.dataset.pipeline
            if t.type == 'DeCLIPResizePad'] == [grid * 14, 560]
    val = {t.type: t for t in cfg.val_dataloader.dataset.pipeline}
    assert val['DeCLIPRegionEvalCrops'].size == crop and val['DeCLIPRegionMasksToGrid'].grid == grid
    csa = load(path.replace('_coco.py', '_coco_csa.py'))
    assert csa.model.student.mode == 'csa'
    csa.model.student.mode = 'qq'
    assert csa.model.to_dict() == cfg.model.to_dict()


def test_recipe_model_trains_a_step_with_k_proj_frozen(distill_batch):
    """The B/16 recipe's model, at the tiny size, one optimiser step on real batches."""
    import declip_mm  # noqa: F401
    from mmengine.optim import build_optim_wrapper

    from declip_mm.registry import MODELS
    cfg = load(B16)
    model_cfg = cfg.model.to_dict()
    model_cfg['student'].update(arch=dict(TINY_EVA), init_cfg=None)
    model_cfg['vfm'] = dict(TINY_DINOV2)
    model_cfg['val_classifier'] = None
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    optim_cfg = cfg.optim_wrapper.to_dict()
    optim_cfg.update(type='OptimWrapper', optimizer=dict(optim_cfg['optimizer'], lr=1e-3))
    optim_cfg.pop('loss_scale')
    wrapper = build_optim_wrapper(model, optim_cfg)
    last = 'visual.trunk.blocks.3.attn.'
    before = {k: v.clone() for k, v in model.student.state_dict().items()}
    logs = model.train_step(distill_batch(), wrapper)
    assert set(logs) >= {'loss_content', 'loss_context'}
    after = model.student.state_dict()
    assert torch.equal(after[last + 'k_proj.weight'], before[last + 'k_proj.weight'])
    assert not torch.equal(after[last + 'q_proj.weight'], before[last + 'q_proj.weight'])
    assert not model.student.visual.trunk.blocks[3].attn.k_proj.weight.requires_grad
