"""CAT-Seg decoder head and its one-hot BCE loss."""
import math

import pytest
import torch

from declip_mm.models.segmentors.catseg_head import (DeCLIPCATSegBCELoss, DeCLIPCATSegHead,
                                                     one_hot_bce)


def _bce(x, t):
    return -(t * math.log(1 / (1 + math.exp(-x))) + (1 - t) * math.log(1 - 1 / (1 + math.exp(-x))))


def test_one_hot_bce_hand_case():
    logits = torch.tensor([[2.0, -1.0], [0.5, 0.0]]).view(1, 2, 1, 2)  # 2 classes, 2 pixels
    label = torch.tensor([[[1, 255]]])
    # pixel 0 is class 1: targets (0, 1); pixel 1 is ignored: targets (0, 0) in CAT-Seg's loss
    per = [_bce(2.0, 0), _bce(0.5, 1), _bce(-1.0, 0), _bce(0.0, 0)]
    assert one_hot_bce(logits, label) == pytest.approx(sum(per) / 4, rel=1e-5)
    assert one_hot_bce(logits, label, ignored_as_negative=False) == pytest.approx(
        (per[0] + per[1]) / 2, rel=1e-5)
    loss = DeCLIPCATSegBCELoss(loss_weight=2.0)
    assert loss(logits, label) == pytest.approx(2 * sum(per) / 4, rel=1e-5)
    assert loss.loss_name == 'loss_bce'


def _head():
    return DeCLIPCATSegHead(in_channels=16, channels=8, clip_width=12, decoder_dims=(16, 8),
                            guidance_dims=(8, 4), guidance_proj_dims=(4, 2), num_classes=3)


def test_head_upsamples_x4_with_one_channel_per_class():
    torch.manual_seed(0)
    head = _head()
    agg = dict(embed=torch.randn(2, 16, 3, 5, 6), selected=None, num_classes=3)
    maps = (torch.randn(2, 12, 5, 6), torch.randn(2, 12, 5, 6))
    out = head((agg, maps))
    assert out.shape == (2, 3, 20, 24)
    # classes are decoded independently: class 0's logits ignore class 2's embedding
    agg2 = dict(agg, embed=agg['embed'].clone())
    agg2['embed'][:, :, 2] += torch.randn(2, 16, 5, 6)
    out2 = head((agg2, maps))
    assert torch.allclose(out[:, :2], out2[:, :2], atol=1e-6)
    assert not torch.allclose(out[:, 2], out2[:, 2])


def test_head_scatters_selected_classes():
    torch.manual_seed(0)
    head = _head().eval()
    agg = dict(embed=torch.randn(1, 16, 2, 4, 4), selected=torch.tensor([[3, 1]]), num_classes=5)
    maps = (torch.randn(1, 12, 4, 4), torch.randn(1, 12, 4, 4))
    out = head((agg, maps))
    plain = head((dict(agg, selected=None), maps))
    assert out.shape == (1, 5, 16, 16)
    assert torch.equal(out[:, 3], plain[:, 0]) and torch.equal(out[:, 1], plain[:, 1])
    assert (out[:, [0, 2, 4]] == -100).all()
