"""mmcv's compiled CUDA RoIAlign and NMS agree with their CPU kernels on a DeCLIP dense map.

Skipped without a CUDA GPU, or when mmcv was built without its CUDA ops (``tools/install.sh``
builds them where nvcc, a CUDA torch and a GPU exist, or with ``FORCE_CUDA=1``).
"""
import pytest
import torch


def mmcv_has_cuda_ops() -> bool:
    try:
        from mmcv.ops import get_compiling_cuda_version
    except ImportError:
        return False
    return get_compiling_cuda_version() != 'not available'


pytestmark = [
    pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU'),
    pytest.mark.skipif(torch.cuda.is_available() and not mmcv_has_cuda_ops(),
                       reason='mmcv built without CUDA ops (FORCE_CUDA=1 bash tools/install.sh)'),
]


@pytest.fixture(scope='module')
def dense_map():
    """``(map (1, 32, 16, 16), rois (R, 5), region scores (R,))``: a tiny DeCLIP csa tower's
    content map of a 128^2 image (patch 8), 300 random boxes in image pixels, and each box's
    cosine to a random text embedding (pooled on the CPU), the scores NMS sorts by."""
    from mmcv.ops import roi_align

    from declip_mm.models.backbones.declip_vit import DeCLIPViT
    from declip_mm.testing import TINY_EVA
    torch.manual_seed(0)
    model = DeCLIPViT(arch=TINY_EVA, mode='csa').eval()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        fmap = model.encode_dense(torch.randn(1, 3, 128, 128, generator=g))
    xy = torch.rand(300, 2, generator=g) * 96
    wh = 8 + torch.rand(300, 2, generator=g) * 56
    rois = torch.cat([torch.zeros(300, 1), xy, (xy + wh).clamp(max=128)], dim=1)
    pooled = roi_align(fmap, rois, (1, 1), 1 / 8, 0, 'avg', True).flatten(1)
    text = torch.nn.functional.normalize(torch.randn(32, generator=g), dim=0)
    scores = torch.nn.functional.normalize(pooled, dim=1) @ text
    assert len(torch.unique(scores)) == len(scores)  # no ties: both kernels sort alike
    return fmap, rois, scores


@pytest.mark.parametrize('aligned', [True, False])
def test_roi_align_cuda_matches_cpu(dense_map, aligned):
    from mmcv.ops import RoIAlign
    fmap, rois, _ = dense_map
    op = RoIAlign(output_size=7, spatial_scale=1 / 8, sampling_ratio=0, aligned=aligned)
    fmap = fmap.clone().requires_grad_(True)
    cpu = op(fmap, rois)
    cpu.square().sum().backward()
    grad_cpu = fmap.grad.clone()
    fmap_gpu = fmap.detach().cuda().requires_grad_(True)
    gpu = op(fmap_gpu, rois.cuda())
    gpu.square().sum().backward()
    assert cpu.shape == (300, 32, 7, 7)
    assert (gpu.cpu() - cpu).abs().max().item() < 1e-5
    assert (fmap_gpu.grad.cpu() - grad_cpu).abs().max().item() < 1e-4  # atomics: order differs


def test_nms_cuda_keeps_the_cpu_boxes(dense_map):
    from mmcv.ops import batched_nms, nms
    _, rois, scores = dense_map
    boxes = rois[:, 1:].contiguous()
    for thr in (0.3, 0.5, 0.7):
        dets_cpu, keep_cpu = nms(boxes, scores, thr)
        dets_gpu, keep_gpu = nms(boxes.cuda(), scores.cuda(), thr)
        assert 0 < len(keep_cpu) < len(boxes)
        assert keep_gpu.cpu().tolist() == keep_cpu.tolist()
        assert torch.allclose(dets_gpu.cpu(), dets_cpu)
    labels = torch.arange(len(boxes)) % 5  # per-class NMS, as the RoI head's post-processing
    cfg = dict(type='nms', iou_threshold=0.5)
    _, keep_cpu = batched_nms(boxes, scores, labels, cfg)
    _, keep_gpu = batched_nms(boxes.cuda(), scores.cuda(), labels.cuda(), cfg)
    assert keep_gpu.cpu().tolist() == keep_cpu.tolist()
