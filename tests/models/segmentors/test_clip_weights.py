"""An official-layout CLIP checkpoint (EVA-CLIP names, ``visual.*`` / ``text.*``) loads into a
segmentor, as ``tools/test.py CONFIG DECLIP.pt`` does."""
import pytest
import torch
from mmengine.runner.checkpoint import load_state_dict
from mmseg.registry import MODELS

import declip_mm  # noqa: F401
from declip_mm.testing import TINY_EVA
from declip_mm.testing.checkpoints import to_eva_clip


@pytest.fixture(autouse=True)
def mmseg_scope():
    """Build mmseg types (SegDataPreProcessor, ...) by name, as a runner would."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')


def segmentor(seed):
    torch.manual_seed(seed)
    return MODELS.build(dict(
        type='DeCLIPTrainingFreeSegmentor',
        backbone=dict(type='DeCLIPViT', arch=TINY_EVA, frozen=True),
        text_encoder=dict(type='DeCLIPTextEncoder', arch=TINY_EVA), class_names=['a', 'b']))


def official_layout(model):
    sd = to_eva_clip({k: v.clone() for k, v in model.backbone.state_dict().items()})
    sd.update({'text.' + k: v.clone() for k, v in model.text_encoder.text.state_dict().items()})
    sd['logit_scale'] = torch.tensor(4.6)
    return sd


def test_official_checkpoint_loads_through_mmengine():
    src, dst = segmentor(0), segmentor(1)
    sd = official_layout(src)
    assert 'visual.blocks.0.attn.q_bias' in sd and 'visual.blocks.0.mlp.w3.weight' in sd
    load_state_dict(dst, {'state_dict': sd}['state_dict'], strict=False)
    for (n, a), (_, b) in zip(src.state_dict().items(), dst.state_dict().items()):
        assert torch.equal(a, b), n


def test_segmentor_checkpoints_load_unchanged():
    src, dst = segmentor(0), segmentor(1)
    dst.load_state_dict(src.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(src.state_dict().values(),
                                                  dst.state_dict().values()))
