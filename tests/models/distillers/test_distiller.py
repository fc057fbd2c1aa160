"""DeCLIPDistiller on tiny models and real skimage batches: teachers, freezing, losses, a step."""
import pytest
import torch
from mmengine.optim import build_optim_wrapper

from declip_mm.models.distillers.freezing import official_frozen_names
from declip_mm.models.distillers.losses import (context_correlation_loss, region_content_loss,
                                                roi_features)
from declip_mm.testing import TINY_VIT
from declip_mm.utils.errors import ConfigError


def test_teacher_is_a_frozen_copy_of_the_student(build_distiller):
    model = build_distiller()
    s, t = model.student.state_dict(), model.teacher.state_dict()
    assert set(s) == set(t) and all(torch.equal(s[k], t[k]) for k in s)
    assert model.teacher.mode == 'vanilla' and model.student.mode == 'csa'
    assert not any(p.requires_grad for p in model.teacher.parameters())
    assert not any(p.requires_grad for p in model.vfm.parameters())
    model.train()
    assert not model.teacher.visual.training and not model.vfm.training


def test_default_freezing_eva_csa_and_qq(build_distiller):
    model = build_distiller()
    frozen = set(model.frozen_student_params)
    expected = {'visual.trunk.cls_token', 'visual.trunk.pos_embed',
                'visual.trunk.patch_embed.proj.weight', 'visual.trunk.patch_embed.proj.bias',
                'visual.trunk.norm.weight', 'visual.trunk.norm.bias',
                'visual.trunk.head.weight', 'visual.trunk.head.bias',
                'visual.trunk.blocks.3.norm2.weight', 'visual.trunk.blocks.3.norm2.bias'}
    assert expected <= frozen
    assert {n for n in frozen if '.mlp.' in n} == \
        {n for n, _ in model.student.named_parameters()
         if n.startswith('visual.trunk.blocks.3.mlp.')}
    trainable = {n for n, p in model.student.named_parameters() if p.requires_grad}
    assert 'visual.trunk.blocks.3.attn.k_proj.weight' in trainable   # csa uses K
    assert 'visual.trunk.blocks.2.mlp.fc2.weight' in trainable
    assert trainable | frozen == {n for n, _ in model.student.named_parameters()}
    qq = build_distiller(mode='qq')
    assert 'visual.trunk.blocks.3.attn.k_proj.weight' in qq.frozen_student_params
    assert 'visual.trunk.blocks.3.attn.q_proj.weight' not in qq.frozen_student_params


def test_openai_student_and_custom_freezing(build_distiller):
    model = build_distiller(arch=TINY_VIT, mode='qq')
    frozen = set(model.frozen_student_params)
    assert {'visual.conv1.weight', 'visual.class_embedding', 'visual.positional_embedding',
            'visual.ln_post.weight', 'visual.proj',
            'visual.transformer.resblocks.3.ln_2.weight'} <= frozen
    assert 'visual.transformer.resblocks.3.attn.in_proj_weight' not in frozen
    custom = build_distiller(frozen_student_params=['visual.trunk.blocks.0.*'])
    assert all(n.startswith('visual.trunk.blocks.0.') for n in custom.frozen_student_params)
    with pytest.raises(ConfigError, match='match nothing'):
        build_distiller(frozen_student_params=['visual.nothing.*'])
    with pytest.raises(ConfigError, match='decoupled mode'):
        build_distiller(mode='vanilla')
    kk = build_distiller(mode='kk')
    assert 'visual.trunk.blocks.3.attn.q_proj.weight' in official_frozen_names(kk.student)
    assert 'visual.trunk.blocks.3.attn.k_proj.weight' not in official_frozen_names(kk.student)


def test_loss_matches_the_per_image_formulas_for_batch_two(build_distiller, distill_batch):
    model = build_distiller()
    data = model.data_preprocessor(distill_batch(), True)
    inputs, samples = data['inputs'], data['data_samples']
    assert inputs['student'].shape == (2, 3, 64, 64) and inputs['vfm'].shape == (2, 3, 112, 112)
    n = sum(len(s.boxes) for s in samples)
    assert inputs['crops'].shape == (n, 3, 32, 32)
    losses = model(inputs, samples, mode='loss')
    assert set(losses) == {'loss_content', 'loss_context'}
    assert all(torch.isfinite(v) for v in losses.values())
    # reference: per image, then the box-weighted / image mean
    with torch.no_grad():
        dense, ctx = model.student.encode_dense_with_context(inputs['student'], normalize=False)
        emb = model.teacher.encode_image(inputs['crops'])
        tokens = model.vfm(inputs['vfm'])
        assert tokens.shape[-2:] == dense.shape[-2:] == (8, 8)
        start, content = 0, 0.0
        for i, s in enumerate(samples):
            k = len(s.boxes)
            feats = roi_features(dense[i:i + 1], [s.boxes])
            content += k * region_content_loss(feats, emb[start:start + k])
            start += k
        context = sum(context_correlation_loss(tokens[i:i + 1], tuple(c[i:i + 1] for c in ctx))
                      for i in range(2)) / 2
    assert losses['loss_content'].item() == pytest.approx(content.item() / n, rel=1e-4)
    assert losses['loss_context'].item() == pytest.approx(0.1 * context.item(), rel=1e-4)


def test_vfm_grid_differing_from_the_student_grid_is_resized(build_distiller, distill_batch):
    model = build_distiller()
    data = model.data_preprocessor(distill_batch(vfm_size=84), True)
    assert model.vfm(data['inputs']['vfm']).shape[-2:] == (6, 6)
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['loss_context'])


def test_train_step_updates_only_trainable_student_params(build_distiller, distill_batch):
    model = build_distiller()
    wrapper = build_optim_wrapper(model, dict(
        type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.1),
        constructor='DeCLIPDistillOptimWrapperConstructor',
        paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0)))
    in_optimizer = {id(p) for g in wrapper.optimizer.param_groups for p in g['params']}
    assert in_optimizer == {id(p) for p in model.student.parameters() if p.requires_grad}
    decay = {id(p): g['weight_decay'] for g in wrapper.optimizer.param_groups for p in g['params']}
    blk = model.student.visual['trunk'].blocks[0]
    assert decay[id(blk.attn.q_proj.weight)] == pytest.approx(0.1)
    assert decay[id(blk.attn.q_proj.bias)] == 0 and decay[id(blk.norm1.weight)] == 0
    before = {k: v.clone() for k, v in model.state_dict().items()}
    log = model.train_step(distill_batch(), wrapper)
    assert {'loss', 'loss_content', 'loss_context'} <= set(log)
    after = model.state_dict()
    frozen = set(model.frozen_student_params)
    changed = {k for k in after if not torch.equal(before[k], after[k])}
    assert 'student.visual.trunk.blocks.0.attn.q_proj.weight' in changed
    assert 'student.visual.trunk.blocks.3.attn.v_proj.weight' in changed
    assert not any(k.startswith(('teacher.', 'vfm.')) for k in changed)
    assert not {f'student.{n}' for n in frozen} & changed


def test_tensor_mode_and_predict_needs_a_classifier(build_distiller):
    model = build_distiller()
    x = torch.randn(1, 3, 64, 64)
    dense, ctx = model(x, mode='tensor')
    assert dense.shape == (1, 32, 8, 8) and len(ctx) == 2 and ctx[0].shape == (1, 64, 8, 8)
    with pytest.raises(ConfigError, match='val_classifier'):
        model(x, [], mode='predict')


def test_teacher_copy_adopts_a_checkpoint_position_grid(build_distiller):
    from declip_mm.models.distillers.distiller import copy_weights
    model = build_distiller()
    pos = model.student.visual['trunk'].pos_embed
    pos.data = torch.randn(1, 1 + 6 * 6, pos.shape[-1])       # as if loaded from a 6x6 checkpoint
    copy_weights(model.student, model.teacher)
    assert torch.equal(model.teacher.visual['trunk'].pos_embed, pos)
    emb = model.teacher.encode_image(torch.randn(2, 3, 32, 32))
    assert emb.shape == (2, 32)
