"""CAT-Seg aggregation blocks: masks and linear attention by hand, structural properties."""
import torch
import torch.nn.functional as F

from declip_mm.models.segmentors.catseg_blocks import (ClassAggregation, GuidedSwinBlock,
                                                       SpatialAggregation, linear_attention,
                                                       shifted_window_mask)


def test_shifted_window_mask_hand_case():
    m = shifted_window_mask(4, 4, window=2, shift=1)
    assert m.shape == (4, 4, 4)
    assert torch.equal(m[0], torch.zeros(4, 4))  # top-left window: one region
    # top-right window: tokens (0,2),(0,3),(1,2),(1,3) come from regions a, b, a, b
    a = torch.tensor([[0, -100, 0, -100], [-100, 0, -100, 0],
                      [0, -100, 0, -100], [-100, 0, -100, 0]], dtype=torch.float)
    assert torch.equal(m[1], a)
    assert torch.equal(m[3], (1 - torch.eye(4)) * -100)  # bottom-right: four regions


def test_linear_attention_matches_explicit_normalised_kernel():
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 5, 3, 4), torch.randn(2, 7, 3, 4), torch.randn(2, 7, 3, 4)
    fq, fk = F.elu(q) + 1, F.elu(k) + 1
    w = torch.einsum('nlhd,nshd->nlsh', fq, fk)
    ref = torch.einsum('nlsh,nshd->nlhd', w / w.sum(2, keepdim=True), v)
    assert torch.allclose(linear_attention(q, k, v), ref, atol=1e-5)


def test_swin_block_window_locality():
    """Without shift a token only sees its own window: changing another window's input leaves
    it unchanged; with a shift the change reaches across the window border."""
    torch.manual_seed(0)
    plain = GuidedSwinBlock(8, 4, 2, window=4, shift=0).eval()
    shifted = GuidedSwinBlock(8, 4, 2, window=4, shift=2).eval()
    x, g = torch.randn(1, 8, 8, 8), torch.randn(1, 8, 8, 4)
    x2 = x.clone()
    x2[:, 4:, 4:] += torch.randn(1, 4, 4, 8)  # bottom-right window only (not a constant: LN)
    for blk, same in ((plain, True), (shifted, False)):
        a, b = blk(x, g), blk(x2, g)
        assert torch.allclose(a[:, :4, :4], b[:, :4, :4], atol=1e-6) == same


def test_swin_block_uses_guidance_on_queries_keys_only():
    torch.manual_seed(0)
    blk = GuidedSwinBlock(8, 4, 2, window=4, shift=0)
    x = torch.randn(2, 4, 4, 8)
    g1, g2 = torch.randn(2, 4, 4, 4), torch.randn(2, 4, 4, 4)
    assert not torch.allclose(blk(x, g1), blk(x, g2))
    assert blk(torch.randn(2, 5, 7, 8), torch.randn(2, 5, 7, 4)).shape == (2, 5, 7, 8)  # padded


def test_spatial_aggregation_keeps_classes_independent():
    torch.manual_seed(0)
    sa = SpatialAggregation(8, 4, 2, window=4).eval()
    x, g = torch.randn(1, 8, 3, 8, 8), torch.randn(1, 4, 8, 8)
    x2 = x.clone()
    x2[:, :, 2] += torch.randn(1, 8, 8, 8)
    a, b = sa(x, g), sa(x2, g)
    assert torch.allclose(a[:, :, :2], b[:, :, :2], atol=1e-6)
    assert not torch.allclose(a[:, :, 2], b[:, :, 2])


def test_class_aggregation_is_class_permutation_equivariant():
    torch.manual_seed(0)
    ca = ClassAggregation(8, 4, 2, pooling_size=(2, 2), test_pooling_size=(1, 1), pad_len=6)
    torch.nn.init.normal_(ca.pad_token)
    x, t = torch.randn(2, 8, 4, 6, 6), torch.randn(2, 4, 4)
    perm = torch.tensor([2, 0, 3, 1])
    for mode in (True, False):
        ca.train(mode)
        out = ca(x, t)
        out_p = ca(x[:, :, perm], t[:, perm])
        assert torch.allclose(out[:, :, perm], out_p, atol=1e-5)
    # the padding tokens take part: without them the result differs
    ca.pad_len = 0
    assert not torch.allclose(ca(x, t), out, atol=1e-5)
