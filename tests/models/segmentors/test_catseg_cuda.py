"""One CAT-Seg training step on CUDA under AMP (bf16): the B/16 config at tiny widths
(``tests/configs/tiny_catseg.py``, CLIP input 384^2) with the config's optimiser and parameter
groups in an ``AmpOptimWrapper``. Skipped without a CUDA GPU."""
import os

import pytest
import torch

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))))


def packed_batch(size: int = 384, classes: int = 3, n: int = 2) -> dict:
    """``n`` random ``size``^2 images with random labels (a 255 border) as mmseg packs them."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for _ in range(n):
        inputs.append(torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8))
        label = torch.randint(0, classes, (1, size, size), generator=g)
        label[:, :8] = 255
        sample = SegDataSample(gt_sem_seg=PixelData(data=label))
        sample.set_metainfo(dict(img_shape=(size, size), ori_shape=(size, size),
                                 pad_shape=(size, size)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def test_catseg_amp_training_step_on_cuda():
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope

    import declip_mm  # noqa: F401  (registers)
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    cfg = Config.fromfile(os.path.join(ROOT, 'tests/configs/tiny_catseg.py'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model = model.cuda().train()
    optim = build_optim_wrapper(model, dict(cfg.optim_wrapper, type='AmpOptimWrapper',
                                            dtype='bfloat16'))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    log_vars = model.train_step(packed_batch(), optim)
    loss = float(torch.as_tensor(log_vars['decode.loss_bce']).detach())
    assert 0.0 < loss < 10.0  # one-hot BCE of near-zero logits starts near log(2)
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert 'decode_head.conv_seg.weight' in changed and 'neck.cost_embed.weight' in changed
    assert 'backbone.visual.trunk.blocks.0.attn.q_proj.weight' in changed  # 0.01x lr, trained
    assert 'backbone.visual.trunk.blocks.0.mlp.fc1.weight' not in changed  # frozen
    assert all(torch.isfinite(v).all() for v in after.values() if v.is_floating_point())
