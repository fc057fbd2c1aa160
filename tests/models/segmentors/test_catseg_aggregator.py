"""Cost volume, class selection and the aggregator neck."""
import torch
import torch.nn.functional as F

from declip_mm.models.segmentors.catseg_aggregator import (DeCLIPCATSegAggregator, cost_volume,
                                                           select_classes)


def test_cost_volume_is_cosine_per_prompt():
    dense = torch.tensor([[2., 0.], [0., 0.5]]).T.reshape(1, 2, 1, 2)  # pixels along x and y
    text = torch.tensor([[[1., 0.], [1., 1.]], [[0., 3.], [-1., 0.]]])  # (T=2, P=2, D=2)
    cost = cost_volume(dense, text)
    assert cost.shape == (1, 2, 2, 1, 2)
    s = 2 ** -0.5
    # class 0 prompt 1 = (1, 1): cos with x = s, with y = s; class 1 prompt 0 = y-axis
    assert torch.allclose(cost[0, 1, 0, 0], torch.tensor([s, s]))
    assert torch.allclose(cost[0, 0, 1, 0], torch.tensor([0., 1.]))
    assert torch.allclose(cost[0, 1, 1, 0], torch.tensor([-1., 0.]))


def test_select_classes_by_peak_cost():
    cost = torch.zeros(1, 1, 4, 2, 2)
    cost[0, 0, 2, 1, 1] = 0.9
    cost[0, 0, 0, 0, 0] = 0.5
    assert sorted(select_classes(cost, 2)[0].tolist()) == [0, 2]


def _agg(pad_len=8):
    return DeCLIPCATSegAggregator(embed_dim=6, hidden_dim=8, num_layers=2, num_heads=2,
                                  window_size=4, appearance_guidance_dim=4, text_guidance_dim=4,
                                  pooling_size=(2, 2), prompt_channels=2, pad_len=pad_len)


def test_aggregator_shapes_and_topk():
    torch.manual_seed(0)
    dense = F.normalize(torch.randn(2, 6, 8, 8), dim=1)
    text = F.normalize(torch.randn(5, 2, 6), dim=-1)
    agg = _agg(pad_len=8)
    out = agg(dense, text)
    assert out['embed'].shape == (2, 8, 5, 8, 8) and out['selected'] is None
    assert out['num_classes'] == 5
    small = _agg(pad_len=3)
    small.load_state_dict(agg.state_dict())
    out = small(dense, text)
    assert out['embed'].shape == (2, 8, 3, 8, 8)
    peak = cost_volume(dense, text).amax(dim=(1, 3, 4))  # (B, T)
    for b in range(2):
        assert set(out['selected'][b].tolist()) == set(peak[b].topk(3).indices.tolist())
