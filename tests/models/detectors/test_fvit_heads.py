"""F-ViT's box head (cls-FC region embedding, text background), transfer head and the RPN
head with normalised convs: key layout and numbers against hand-written reference maths."""

import pytest
import torch
import torch.nn.functional as F

import declip_mm  # noqa: F401


BN = dict(type='BN', requires_grad=True)


def fvit_head(embed=32, **kw):
    from mmdet.registry import MODELS
    cfg = dict(type='DeCLIPOVBBoxHead', embed_dim=embed, region_embedding='cls_fc',
               in_channels=8, roi_feat_size=7, num_shared_convs=4, num_shared_fcs=2,
               num_cls_fcs=1, num_reg_fcs=1, conv_out_channels=8, fc_out_channels=embed,
               norm_cfg=BN, background='text', num_classes=3, temperature=50.0,
               vlm_temperature=75.0, alpha=0.1, beta=0.8)
    cfg.update(kw)
    torch.manual_seed(0)
    head = MODELS.build(cfg)
    head.init_weights()
    for m in head.modules():  # non-trivial BN statistics and affine terms
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return head.eval()


def classes(embed=32, n=3, seed=1):
    g = torch.Generator().manual_seed(seed)
    return (F.normalize(torch.randn(n, embed, generator=g), dim=-1),
            F.normalize(torch.randn(embed, generator=g), dim=0))


def reference_region(head, x):
    """F-ViT's head written out: 4 x (conv, BN, ReLU) -> 2 x ReLU(FC) -> ReLU(cls FC)."""
    for conv in head.shared_convs:
        c, bn = conv.conv, conv.bn
        x = F.relu(F.batch_norm(F.conv2d(x, c.weight, c.bias, padding=1), bn.running_mean,
                                bn.running_var, bn.weight, bn.bias, eps=bn.eps))
    x = x.flatten(1)
    for fc in head.shared_fcs:
        x = F.relu(F.linear(x, fc.weight, fc.bias))
    cls = F.relu(F.linear(x, head.cls_fcs[0].weight, head.cls_fcs[0].bias))
    reg = F.relu(F.linear(x, head.reg_fcs[0].weight, head.reg_fcs[0].bias))
    return cls, F.linear(reg, head.fc_reg.weight, head.fc_reg.bias)


def test_fvit_head_layout_is_clipselfs():
    head = fvit_head(embed=32)
    keys = set(head.state_dict())
    assert not any(k.startswith('fc_cls') for k in keys)  # no projection, no unused fc_cls
    assert {'cls_fcs.0.weight', 'reg_fcs.0.weight', 'fc_reg.weight', 'temperature',
            'shared_fcs.1.weight', 'shared_convs.3.bn.running_var'} <= keys
    assert head.shared_fcs[0].weight.shape == (32, 8 * 49)  # width = embed_dim (512 for B/16)
    assert head.cls_fcs[0].weight.shape == (32, 32) and head.fc_reg.weight.shape == (4, 32)
    assert 'bg_embedding' not in keys  # the text background is not a weight


def test_fvit_head_logits_and_fused_scores_equal_reference():
    head = fvit_head()
    emb, bg = classes()
    head.set_classes(emb, torch.tensor([True, False, True]), bg)
    x = torch.randn(5, 8, 7, 7, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        logits, deltas = head(x)
        region, ref_deltas = reference_region(head, x)
    table = torch.cat([emb, bg[None]])
    ref = 50.0 * (region / region.norm(dim=-1, keepdim=True)) @ table.t()
    assert torch.allclose(logits, ref, atol=1e-5) and torch.allclose(deltas, ref_deltas, atol=1e-6)
    # test-time fusion, F-ViT's formula (background column with the base weight alpha)
    vlm = torch.randn(5, 32, generator=torch.Generator().manual_seed(3))
    probs = head.class_probabilities(logits, vlm)
    det = ref.softmax(-1)
    v = (75.0 * F.normalize(vlm, dim=-1) @ table.t()).softmax(-1)
    w = torch.tensor([0.1, 0.8, 0.1, 0.1])
    assert torch.allclose(probs, det ** (1 - w) * v ** w, atol=1e-6)


def test_text_background_is_required_and_used():
    head = fvit_head()
    emb, bg = classes()
    with pytest.raises(ValueError, match='background'):
        head.set_classes(emb, torch.ones(3, dtype=torch.bool))
    x = torch.randn(2, 8, 7, 7)
    head.set_classes(emb, torch.ones(3, dtype=torch.bool), bg)
    a = head(x)[0][:, -1]
    head.set_classes(emb, torch.ones(3, dtype=torch.bool), -bg)
    assert torch.allclose(head(x)[0][:, -1], -a, atol=1e-5)  # last column = background cosine


def test_cls_fc_embedding_needs_the_text_width():
    with pytest.raises(ValueError, match='fc_out_channels == embed_dim'):
        fvit_head(embed=32, fc_out_channels=64)
    with pytest.raises(ValueError, match='num_cls_fcs'):
        fvit_head(embed=32, num_cls_fcs=0)


def test_projection_option_keeps_clim_layout():
    head = fvit_head(embed=32, region_embedding='projection', fc_out_channels=64,
                     num_cls_fcs=0, num_reg_fcs=0, background='learn')
    assert head.fc_cls.weight.shape == (32, 64) and head.bg_embedding.requires_grad


def test_transfer_head_one_alpha_fixed_temperatures():
    from mmdet.registry import MODELS
    cfg = dict(type='DeCLIPOVTransferBBoxHead', embed_dim=32, region_embedding='cls_fc',
               in_channels=8, roi_feat_size=7, num_shared_convs=4, num_shared_fcs=2,
               num_cls_fcs=1, num_reg_fcs=1, conv_out_channels=8, fc_out_channels=32,
               norm_cfg=BN, background='text', num_classes=3, alpha=0.3)
    torch.manual_seed(0)
    head = MODELS.build(cfg).eval()
    assert (head.alpha, head.beta, head.test_temperature, head.vlm_temperature) == \
        (0.3, 0.3, 50.0, 120.0)
    head.temperature.data.fill_(17.0)  # a trained temperature: ignored at test time
    emb, bg = classes()
    head.set_classes(emb, torch.tensor([False, False, True]), bg)  # the split plays no role
    x = torch.randn(4, 8, 7, 7, generator=torch.Generator().manual_seed(5))
    vlm = torch.randn(4, 32, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        logits, _ = head(x)
        region, _ = reference_region(head, x)
        probs = head.class_probabilities(logits, vlm)
    table = torch.cat([emb, bg[None]])
    det = (50.0 * F.normalize(region, dim=-1) @ table.t()).softmax(-1)
    v = (120.0 * F.normalize(vlm, dim=-1) @ table.t()).softmax(-1)
    assert torch.allclose(probs, det ** 0.7 * v ** 0.3, atol=1e-6)
    with pytest.raises(RuntimeError, match='testing only'):
        head.loss(logits, None, None, None, None, None, None)


def test_norm_rpn_head_layout_and_numbers():
    from mmdet.registry import MODELS
    cfg = dict(type='DeCLIPNormRPNHead', in_channels=8, feat_channels=8, num_convs=2,
               norm_cfg=BN,
               anchor_generator=dict(type='AnchorGenerator', scales=[8], ratios=[0.5, 1.0, 2.0],
                                     strides=[4]),
               bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4,
                               target_stds=[1.0] * 4))
    torch.manual_seed(0)
    head = MODELS.build(cfg).eval()
    keys = set(head.state_dict())
    assert {'rpn_conv.0.conv.weight', 'rpn_conv.0.bn.running_mean', 'rpn_conv.1.bn.weight',
            'rpn_cls.weight', 'rpn_reg.weight'} <= keys
    assert 'rpn_conv.0.conv.bias' not in keys  # a conv followed by a norm has no bias
    for m in head.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    x = torch.randn(1, 8, 6, 6)
    with torch.no_grad():
        cls, reg = head.forward_single(x)
        y = x
        for blk in head.rpn_conv:
            bn = blk.bn
            y = F.relu(F.batch_norm(F.conv2d(y, blk.conv.weight, None, padding=1),
                                    bn.running_mean, bn.running_var, bn.weight, bn.bias,
                                    eps=bn.eps))
    assert torch.allclose(cls, F.conv2d(y, head.rpn_cls.weight, head.rpn_cls.bias), atol=1e-6)
    assert torch.allclose(reg, F.conv2d(y, head.rpn_reg.weight, head.rpn_reg.bias), atol=1e-6)
    plain = MODELS.build(dict(cfg, type='DeCLIPNormRPNHead', norm_cfg=None))
    assert 'rpn_conv.0.conv.bias' in plain.state_dict()  # without norm: mmdet's RPNHead


def tiny_text_bg_detector(tmp_path, table):
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope

    from declip_mm.testing.fvit import tiny_fvit_cfg
    init_default_scope('mmdet')
    path = str(tmp_path / 'classes.pt')
    torch.save(table, path)
    cfg = tiny_fvit_cfg(vocabulary=['person', 'car', 'dog', 'cat'], text_encoder=None,
                        class_embeddings=path)
    cfg.roi_head.bbox_head.update(region_embedding='cls_fc', num_cls_fcs=1, num_reg_fcs=1,
                                  background='text')
    return MODELS.build(cfg), path


def test_detector_uses_the_files_background_row(tmp_path):
    """F-ViT's *_with_background_*.pt: the 'background' row is the background of both
    branches; predictions change when only that row changes."""
    g = torch.Generator().manual_seed(0)
    table = {n: torch.randn(32, generator=g) for n in ('person', 'car', 'dog', 'cat',
                                                       'background')}
    model, _ = tiny_text_bg_detector(tmp_path, table)
    model.eval()
    names = model.vocabulary.names
    model._use_classes(names)
    assert torch.allclose(model.roi_head.bbox_head.bg_embedding,
                          F.normalize(table['background'], dim=0), atol=1e-6)
    x = torch.randn(3, 32, 7, 7, generator=g)
    vlm = torch.randn(3, 32, generator=g)
    with torch.no_grad():
        a = model.roi_head.bbox_head.class_probabilities(model.roi_head.bbox_head(x)[0], vlm)
    table['background'] = torch.randn(32, generator=g)
    other, _ = tiny_text_bg_detector(tmp_path, table)
    other.load_state_dict(model.state_dict())
    other.eval()
    other._use_classes(names)
    with torch.no_grad():
        head = other.roi_head.bbox_head
        b = head.class_probabilities(head(x)[0], vlm)
        region, _ = reference_region(head, x)
    rows = F.normalize(torch.stack([table[n] for n in ('person', 'car', 'dog', 'cat',
                                                        'background')]), dim=-1)
    det = (50.0 * F.normalize(region, dim=-1) @ rows.t()).softmax(-1)
    v = (75.0 * F.normalize(vlm, dim=-1) @ rows.t()).softmax(-1)
    w = torch.tensor([0.1, 0.1, 0.8, 0.8, 0.1])  # person / car base, dog / cat novel
    assert torch.allclose(b, det ** (1 - w) * v ** w, rtol=1e-4, atol=1e-7)
    assert not torch.allclose(a[:, -1], b[:, -1], rtol=0.1)  # the background column moved


def test_text_background_without_background_row_is_one_line(tmp_path):
    from declip_mm.utils.errors import ConfigError
    table = {n: torch.randn(32) for n in ('person', 'car', 'dog', 'cat')}
    with pytest.raises(ConfigError) as err:
        tiny_text_bg_detector(tmp_path, table)
    assert '\n' not in str(err.value) and 'classes.pt' in str(err.value)
    assert 'background' in str(err.value)
