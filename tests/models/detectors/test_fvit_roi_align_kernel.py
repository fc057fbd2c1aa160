"""F-ViT's box features use torchvision's RoIAlign kernel (a speed choice): it must give
mmcv's features and gradients bit for bit, for the F-ViT strides (B/16 and L/14)."""
import os

import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def fvit_extractor(strides):
    """The F-ViT base config's 7x7 box-feature extractor (4 input channels, given strides)."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    register_all_modules()
    cfg = Config.fromfile(os.path.join(ROOT, 'configs/_base_/models/declip-fvit_eva02-b16_fpn.py'))
    ext = cfg.model.roi_head.bbox_roi_extractor
    assert ext.roi_layer.use_torchvision and ext.roi_layer.output_size == 7
    assert ext.roi_layer.sampling_ratio == 0
    return MODELS.build(dict(ext, out_channels=4, featmap_strides=strides))


def random_rois(n, side, g):
    """``(n, 5)`` boxes on two images: small to whole-image, some partly outside."""
    xy = torch.rand(n, 2, generator=g) * side - side * 0.05
    wh = torch.rand(n, 2, generator=g) ** 2 * side + 0.5
    return torch.cat([torch.randint(0, 2, (n, 1), generator=g).float(), xy, xy + wh], 1)


@pytest.mark.parametrize('strides,side', [([4, 8, 16, 32], 128), ([3.5, 7, 14, 28], 112)])
def test_torchvision_kernel_equals_mmcv(strides, side):
    g = torch.Generator().manual_seed(0)
    ext = fvit_extractor(strides)
    feats = [torch.randn(2, 4, int(side / s), int(side / s), generator=g, requires_grad=True)
             for s in strides]
    rois = random_rois(300, side, g)
    weight = torch.randn(300, 4, 7, 7, generator=g)
    out, grads = {}, {}
    for tv in (True, False):
        for layer in ext.roi_layers:
            layer.use_torchvision = tv
        out[tv] = ext(feats, rois)
        grads[tv] = torch.autograd.grad((out[tv] * weight).sum(), feats)
    assert out[True].abs().sum() > 0
    assert torch.equal(out[True], out[False])
    assert all(torch.equal(a, b) for a, b in zip(grads[True], grads[False]))
