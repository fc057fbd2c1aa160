"""One DeCLIP F-ViT training step on CUDA under the shipped config's AMP optimiser wrapper
(fp16, loss scale 512), then inference. Skipped without a CUDA GPU."""
import os

import pytest
import torch

from declip_mm.testing.fvit import tiny_fvit_cfg

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))))


def packed_batch():
    """Two random images (96 x 96, 80 x 96) with 2 and 3 boxes of the 4 tiny classes."""
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(1)
    return demo_mm_inputs(batch_size=2, image_shapes=[(3, 96, 96), (3, 80, 96)],
                          num_items=[2, 3], num_classes=4)


def test_fvit_amp_training_step_and_inference_on_cuda():
    from mmengine.config import Config
    from mmengine.optim import AmpOptimWrapper, build_optim_wrapper
    from mmengine.registry import init_default_scope

    import declip_mm  # noqa: F401  (registers)
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(tiny_fvit_cfg())
    model.init_weights()
    model = model.cuda()
    optim_cfg = Config.fromfile(os.path.join(ROOT, 'configs/ovcoco/declip_fvit.py')).optim_wrapper
    optim = build_optim_wrapper(model, optim_cfg)
    assert isinstance(optim, AmpOptimWrapper)

    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    log_vars = model.train_step(packed_batch(), optim)
    for key in ('loss', 'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox'):
        assert torch.isfinite(torch.as_tensor(log_vars[key])), key
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}  # empty on overflow
    assert 'neck.1.fpn_convs.0.conv.weight' in changed
    assert 'roi_head.bbox_head.temperature' in changed or \
        'roi_head.bbox_head.bg_embedding' in changed
    assert not any(k.startswith('backbone.') for k in changed)  # frozen tower
    assert all(torch.isfinite(v).all() for v in after.values() if v.is_floating_point())

    model.eval()
    with torch.no_grad():
        preds = model.test_step(packed_batch())
    for pred in preds:
        boxes = pred.pred_instances.bboxes
        assert boxes.is_cuda and len(boxes) > 0 and torch.isfinite(boxes).all()
        h, w = pred.ori_shape
        assert boxes[:, 0::2].max() <= w + 1e-3 and boxes[:, 1::2].max() <= h + 1e-3
