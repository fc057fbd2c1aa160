"""Test-time fusion of detector and VLM scores, on hand-made numbers."""
import math

import pytest
import torch

from declip_mm.models.detectors.fusion import fuse_ov_scores, region_text_probabilities


def test_fusion_hand_computed():
    # 3 classes (base, novel, base) + background; alpha 0.1, beta 0.8.
    det = torch.tensor([[0.40, 0.10, 0.20, 0.30]])
    vlm = torch.tensor([[0.10, 0.50, 0.30, 0.10]])
    out = fuse_ov_scores(det, vlm, torch.tensor([True, False, True]), alpha=0.1, beta=0.8)
    expected = [0.40 ** 0.9 * 0.10 ** 0.1,   # base
                0.10 ** 0.2 * 0.50 ** 0.8,   # novel
                0.20 ** 0.9 * 0.30 ** 0.1,   # base
                0.30 ** 0.9 * 0.10 ** 0.1]   # background: base exponent (alpha)
    assert out[0].tolist() == pytest.approx(expected, rel=1e-6)
    assert out[0, 0].item() == pytest.approx(0.3482, abs=1e-4)
    assert out[0, 1].item() == pytest.approx(0.3624, abs=1e-4)


def test_fusion_background_column_and_no_renormalisation():
    """CLIPSelf's F-ViT (base index built from seen classes + 'background') and CLIM (class
    weights [:-1] + [1.0]) give the background the base exponent and never renormalise."""
    det = torch.tensor([[0.2, 0.2, 0.6]])
    vlm = torch.tensor([[0.7, 0.2, 0.1]])
    out = fuse_ov_scores(det, vlm, torch.tensor([False, False]), alpha=0.25, beta=0.5)
    assert out[0, 2].item() == pytest.approx(0.6 ** 0.75 * 0.1 ** 0.25, rel=1e-6)
    assert out[0, 0].item() == pytest.approx(math.sqrt(0.2 * 0.7), rel=1e-6)
    assert out.sum().item() != pytest.approx(1.0, abs=1e-3)  # rows are not renormalised


def _clim_reference(cls_scores, clip_scores, class_weight, alpha, beta):
    """CLIM's F-VLM fusion as described (in place on a copy; base = class_weight > 0 with the
    background weight replaced by 1.0)."""
    out = cls_scores.clone()
    base = torch.tensor(class_weight[:-1] + [1.0]) > 0
    novel = ~base
    out[:, base] = cls_scores[:, base] ** (1 - alpha) * clip_scores[:, base] ** alpha
    out[:, novel] = cls_scores[:, novel] ** (1 - beta) * clip_scores[:, novel] ** beta
    return out


def test_fusion_matches_reference_formulation():
    torch.manual_seed(0)
    det = torch.randn(6, 5).softmax(-1)
    vlm = torch.randn(6, 5).softmax(-1)
    class_weight = [1, 0, 1, 0, 0.6]  # 4 classes + bg weight 0.6 (OV-COCO style)
    ref = _clim_reference(det, vlm, class_weight, 0.1, 0.8)
    out = fuse_ov_scores(det, vlm, torch.tensor([True, False, True, False]), 0.1, 0.8)
    torch.testing.assert_close(out, ref)


def test_fusion_limits_and_errors():
    det = torch.tensor([[0.5, 0.3, 0.2]])
    vlm = torch.tensor([[0.2, 0.6, 0.2]])
    torch.testing.assert_close(fuse_ov_scores(det, vlm, torch.tensor([True, False]), 0., 0.), det)
    torch.testing.assert_close(fuse_ov_scores(det, vlm, torch.tensor([True, True]), 1., 0.), vlm)
    with pytest.raises(ValueError, match='base_mask'):
        fuse_ov_scores(det, vlm, torch.tensor([True]), 0.1, 0.8)
    with pytest.raises(ValueError, match='shape'):
        fuse_ov_scores(det, vlm[:, :2], torch.tensor([True]), 0.1, 0.8)


def test_region_text_probabilities_hand_computed():
    regions = torch.tensor([[2.0, 0.0]])             # normalised to (1, 0)
    classes = torch.tensor([[1.0, 0.0], [0.0, 3.0]])  # cos 1 and 0
    probs = region_text_probabilities(regions, classes, temperature=2.0)
    e = math.exp(2.0)
    assert probs[0].tolist() == pytest.approx([e / (e + 1), 1 / (e + 1)], rel=1e-6)
