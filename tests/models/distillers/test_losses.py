"""DeCLIP distillation losses on hand-computed cases."""
import math

import pytest
import torch

from declip_mm.models.distillers.losses import (DeCLIPContentLoss, DeCLIPContextLoss,
                                                context_correlation_loss,
                                                cosine_similarity_matrix, region_content_loss,
                                                roi_features, student_context_similarity)


def as_map(tokens, h, w):
    """(B, h*w, C) -> (B, C, h, w)."""
    return tokens.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], h, w)


def test_content_loss_hand_computed():
    student = torch.tensor([[2.0, 0.0], [0.0, 3.0]])
    teacher = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    # cosines: 1 and 1/sqrt(2) -> 1 - mean
    expected = 1 - (1 + 1 / math.sqrt(2)) / 2
    assert region_content_loss(student, teacher).item() == pytest.approx(expected, abs=1e-6)
    assert DeCLIPContentLoss(2.0)(student, teacher).item() == pytest.approx(2 * expected, abs=1e-6)
    assert region_content_loss(teacher, teacher).item() == pytest.approx(0.0, abs=1e-6)
    assert region_content_loss(teacher, -teacher).item() == pytest.approx(2.0, abs=1e-6)
    with pytest.raises(ValueError):
        region_content_loss(student, teacher[:1])


def test_roi_features_aligned_1x1():
    dense = torch.arange(16.0).reshape(1, 1, 4, 4)
    # top-left quarter = feature cells (0,0),(0,1),(1,0),(1,1): values 0, 1, 4, 5
    boxes = [torch.tensor([[0.0, 0.0, 0.5, 0.5], [0.5, 0.5, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]])]
    feats = roi_features(dense, boxes)
    assert feats.shape == (3, 1)
    assert feats[:, 0].tolist() == pytest.approx([2.5, 12.5, 7.5])
    # boxes of two images go to their own maps
    two = torch.cat([dense, dense + 100], 0)
    feats = roi_features(two, [boxes[0][:1], boxes[0][:1]])
    assert feats[:, 0].tolist() == pytest.approx([2.5, 102.5])


def test_cosine_similarity_matrix():
    tokens = torch.tensor([[[3.0, 0.0], [1.0, 1.0], [0.0, -2.0]]])
    s = cosine_similarity_matrix(tokens)[0]
    r = 1 / math.sqrt(2)
    expected = torch.tensor([[1, r, 0], [r, 1, -r], [0, -r, 1]])
    assert torch.allclose(s, expected, atol=1e-6)


def test_context_loss_hand_computed_qq_and_csa():
    teacher = as_map(torch.tensor([[[1.0, 0.0], [0.0, 1.0]]]), 1, 2)  # S_T = I
    q = as_map(torch.tensor([[[1.0, 0.0], [2.0, 0.0]]]), 1, 2)      # S_Q = ones
    k = as_map(torch.tensor([[[0.0, 5.0], [1.0, 0.0]]]), 1, 2)      # S_K = I
    # qq: rows (0,-1), (-1,0) -> norms 1 -> mean 1
    assert context_correlation_loss(teacher, (q,)).item() == pytest.approx(1.0)
    # csa: S_S = (ones + I) / 2 -> rows (0, -.5) -> norms .5
    assert context_correlation_loss(teacher, (q, k)).item() == pytest.approx(0.5)
    assert DeCLIPContextLoss(0.1)(teacher, (q, k)).item() == pytest.approx(0.05)
    # not squared: scaling the difference by 2 doubles the loss
    q3 = as_map(torch.tensor([[[1.0, 0.0], [-1.0, 0.0]]]), 1, 2)    # S_Q = [[1,-1],[-1,1]]
    assert context_correlation_loss(teacher, (q3,)).item() == pytest.approx(1.0)
    assert context_correlation_loss(teacher, (q3, k)).item() == pytest.approx(0.5)


def test_context_loss_csa_batch_greater_than_one():
    torch.manual_seed(0)
    b, heads, d, h, w, c_t = 3, 4, 8, 3, 5, 6
    teacher = torch.randn(b, c_t, h, w)
    q_heads = torch.randn(b, heads, h * w, d)
    k_heads = torch.randn(b, heads, h * w, d)
    merge = lambda x: x.transpose(1, 2).reshape(b, h * w, heads * d)  # noqa: E731
    q, k = as_map(merge(q_heads), h, w), as_map(merge(k_heads), h, w)
    loss = context_correlation_loss(teacher, (q, k))
    # explicit per-image reference on merged heads
    per_image = []
    for i in range(b):
        t = torch.nn.functional.normalize(teacher[i].flatten(1).T, dim=-1)
        qi = torch.nn.functional.normalize(merge(q_heads)[i], dim=-1)
        ki = torch.nn.functional.normalize(merge(k_heads)[i], dim=-1)
        diff = t @ t.T - (qi @ qi.T + ki @ ki.T) / 2
        per_image.append(diff.norm(dim=-1).mean())
    assert loss.item() == pytest.approx(torch.stack(per_image).mean().item(), rel=1e-5)
    # each image only sees its own tokens: the batch loss is the mean of single-image losses
    singles = [context_correlation_loss(teacher[i:i + 1], (q[i:i + 1], k[i:i + 1]))
               for i in range(b)]
    assert loss.item() == pytest.approx(torch.stack(singles).mean().item(), rel=1e-5)
    # and it differs from the per-head similarity of the official csa branch
    qh = torch.nn.functional.normalize(q_heads, dim=-1)
    kh = torch.nn.functional.normalize(k_heads, dim=-1)
    per_head = (qh @ qh.transpose(-1, -2) + kh @ kh.transpose(-1, -2)) / 2
    t_all = torch.nn.functional.normalize(teacher.flatten(2).transpose(1, 2), dim=-1)
    wrong = ((t_all @ t_all.transpose(1, 2))[:, None] - per_head).norm(dim=-1).mean()
    assert abs(wrong.item() - loss.item()) > 1e-3


def test_student_context_resized_to_teacher_grid():
    # a context that is constant along x: resizing 4x4 -> 2x2 keeps its similarity structure
    rows = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])  # per row y
    ctx = rows.T[None, :, :, None].expand(1, 2, 4, 4).contiguous()
    sim = student_context_similarity((ctx,), (2, 2))
    assert sim.shape == (1, 4, 4)
    expected = torch.tensor([[1.0, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]])
    assert torch.allclose(sim[0], expected, atol=1e-6)
    teacher = as_map(torch.tensor([[[1.0, 0], [1, 0], [0, 1], [0, 1]]]), 2, 2)
    assert context_correlation_loss(teacher, (ctx,)).item() == pytest.approx(0.0, abs=1e-6)


def test_context_loss_is_float32_and_differentiable():
    teacher = torch.randn(2, 4, 2, 2).half()
    q = torch.randn(2, 8, 2, 2, requires_grad=True)
    loss = DeCLIPContextLoss(0.1)(teacher, (q,))
    assert loss.dtype == torch.float32
    loss.backward()
    assert q.grad is not None and torch.isfinite(q.grad).all()
    with pytest.raises(ValueError):
        context_correlation_loss(teacher, (q[:1],))


def test_context_loss_per_head_is_the_mean_of_each_heads_loss():
    torch.manual_seed(0)
    teacher = torch.randn(2, 5, 3, 3)
    q, k = torch.randn(2, 6, 3, 3), torch.randn(2, 6, 3, 3)
    merged = context_correlation_loss(teacher, [q, k])
    assert torch.allclose(context_correlation_loss(teacher, [q, k], heads=1), merged)
    per_head = torch.stack([context_correlation_loss(teacher, [q[:, 2 * h:2 * h + 2],
                                                               k[:, 2 * h:2 * h + 2]])
                            for h in range(3)]).mean()
    assert torch.allclose(context_correlation_loss(teacher, [q, k], heads=3), per_head)
    assert torch.allclose(DeCLIPContextLoss(0.5, heads=3)(teacher, [q, k]), 0.5 * per_head)
    with pytest.raises(ValueError, match='do not split into 4 heads'):
        context_correlation_loss(teacher, [q, k], heads=4)
