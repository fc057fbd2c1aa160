"""Open-vocabulary classifier maths and the bbox head's base-only loss (novel-class masking)."""
import math

import pytest
import torch
import torch.nn.functional as F

from declip_mm.models.detectors.ov_classifier import (MASKED_LOGIT, class_loss_weights,
                                                      cosine_class_logits,
                                                      mask_zero_weight_logits)


def test_cosine_class_logits_hand_computed():
    region = torch.tensor([[3.0, 4.0]])                    # -> (0.6, 0.8)
    classes = torch.tensor([[1.0, 0.0], [0.0, 2.0]])       # cos 0.6, 0.8
    bg = torch.tensor([-1.0, 0.0])                         # cos -0.6
    logits = cosine_class_logits(region, classes, bg, temperature=50.0)
    assert logits[0].tolist() == pytest.approx([30.0, 40.0, -30.0], rel=1e-6)


def test_class_loss_weights_and_mask():
    w = class_loss_weights(torch.tensor([True, False, True]), bg_weight=0.6)
    assert w.tolist() == pytest.approx([1.0, 0.0, 1.0, 0.6])
    logits = torch.zeros(2, 4)
    masked = mask_zero_weight_logits(logits, w)
    assert masked[:, 1].tolist() == [MASKED_LOGIT] * 2
    assert masked[:, [0, 2, 3]].abs().sum() == 0
    assert logits.abs().sum() == 0  # out of place


def build_head(num_classes=3, **kw):
    from declip_mm.models.detectors import DeCLIPOVBBoxHead
    head = DeCLIPOVBBoxHead(
        embed_dim=8, in_channels=4, roi_feat_size=3, conv_out_channels=4, fc_out_channels=6,
        num_classes=num_classes, bg_weight=0.6,
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0), **kw)
    head.init_weights()
    return head


def test_head_forward_is_cosine_times_temperature():
    from mmdet.models.roi_heads.bbox_heads import ConvFCBBoxHead
    torch.manual_seed(0)
    head = build_head().eval()
    emb = F.normalize(torch.randn(3, 8), dim=-1)
    head.set_classes(emb, torch.tensor([True, False, True]))
    x = torch.randn(5, 4, 3, 3)
    logits, deltas = head(x)
    region, _ = ConvFCBBoxHead.forward(head, x)
    ref = 50.0 * F.normalize(region, dim=-1) @ F.normalize(
        torch.cat([emb, head.bg_embedding[None]]), dim=-1).t()
    torch.testing.assert_close(logits, ref)
    assert logits.shape == (5, 4) and deltas.shape == (5, 4)  # class-agnostic boxes
    assert isinstance(head.temperature, torch.nn.Parameter)
    assert head.temperature.item() == 50.0


def test_head_loss_masks_novel_classes():
    """Novel classes take no probability mass and get no gradient; the background weight is
    0.6; a (stray) novel target contributes nothing."""
    head = build_head()
    head.set_classes(torch.randn(3, 8), torch.tensor([True, False, True]))
    logits = torch.tensor([[2.0, 5.0, 0.0, 1.0],
                           [0.5, 3.0, 1.5, 0.0],
                           [0.0, 4.0, 0.0, 2.0],
                           [1.0, 6.0, 1.0, 1.0]], requires_grad=True)
    labels = torch.tensor([0, 2, 3, 1])  # base, base, background, novel
    loss = head.loss(logits, None, None, labels, torch.ones(4), None, None)['loss_cls']

    def ce(row, target):  # softmax over the unmasked columns 0, 2, 3 only
        cols = [0, 2, 3]
        lse = math.log(sum(math.exp(row[c]) for c in cols))
        return lse - row[target]
    rows = logits.tolist()
    expected = (ce(rows[0], 0) + ce(rows[1], 2) + 0.6 * ce(rows[2], 3)) / 3
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    loss.backward()
    assert logits.grad[:, 1].abs().max().item() == 0.0
    assert logits.grad[3].abs().max().item() == 0.0  # novel-target sample ignored


def test_head_probabilities_fuse_with_vlm():
    torch.manual_seed(1)
    head = build_head(alpha=0.1, beta=0.8, vlm_temperature=75.0).eval()
    emb = F.normalize(torch.randn(3, 8), dim=-1)
    base = torch.tensor([True, False, True])
    head.set_classes(emb, base)
    logits, vlm = torch.randn(4, 4), torch.randn(4, 8)
    det = logits.softmax(-1)
    assert torch.allclose(head.class_probabilities(logits), det)
    classes = F.normalize(torch.cat([emb, head.bg_embedding.detach()[None]]), dim=-1)
    vlm_p = (75.0 * F.normalize(vlm, dim=-1) @ classes.t()).softmax(-1)
    exp = torch.tensor([0.1, 0.8, 0.1, 0.1])
    ref = det ** (1 - exp) * vlm_p ** exp
    torch.testing.assert_close(head.class_probabilities(logits, vlm).detach(), ref,
                               rtol=1e-5, atol=1e-6)


def test_head_rejects_wrong_embeddings_and_class_specific_boxes():
    head = build_head()
    with pytest.raises(ValueError, match=r'\(C, 8\)'):
        head.set_classes(torch.randn(3, 5), torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match='reg_class_agnostic'):
        build_head(reg_class_agnostic=False)
