"""DeCLIPPyramidAdapter: strides 4 / 8 / 16 / 32 from four stride-16 maps."""
import pytest
import torch


def build(**kw):
    from declip_mm.models.detectors import DeCLIPPyramidAdapter
    return DeCLIPPyramidAdapter(**kw)


def test_adapter_shapes_and_identity_paths():
    torch.manual_seed(0)
    neck = build(in_channels=8).eval()
    maps = [torch.randn(2, 8, 6, 10) for _ in range(4)]
    outs = neck(maps)
    assert [tuple(o.shape) for o in outs] == [(2, 8, 24, 40), (2, 8, 12, 20), (2, 8, 6, 10),
                                              (2, 8, 3, 5)]
    assert torch.equal(outs[2], maps[2])  # identity at the ViT stride
    ref = maps[3].view(2, 8, 3, 2, 5, 2).amax(dim=(3, 5))  # 2x2 max-pool by hand
    assert torch.equal(outs[3], ref)


def test_adapter_deconv_is_a_2x2_transposed_conv():
    neck = build(in_channels=1, scales=(2,)).eval()
    deconv = neck.adapters[0]
    with torch.no_grad():
        deconv.weight.copy_(torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]))
        deconv.bias.zero_()
    out = neck([torch.tensor([[[[1.0, 10.0]]]])])[0]
    assert out[0, 0].tolist() == [[1.0, 2.0, 10.0, 20.0], [3.0, 4.0, 30.0, 40.0]]


def test_adapter_errors():
    with pytest.raises(ValueError, match='scale'):
        build(in_channels=4, scales=(3,))
    with pytest.raises(ValueError, match='keep the channels'):
        build(in_channels=4, out_channels=8, scales=(1,))
    with pytest.raises(ValueError, match='expects 4 maps'):
        build(in_channels=4)([torch.zeros(1, 4, 2, 2)] * 3)
