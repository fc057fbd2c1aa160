"""The shipped OV-Shapes tiny CLIPs (one per world): they load into declip_mm's towers and
pass their gates."""
import os

import pytest
import torch
import torch.nn.functional as F

from declip_mm.datasets.ov_shapes import OV_SHAPES_CLIP, SPLITS, make_scenes
from declip_mm.datasets.ov_shapes.arch import tiny_clip_checkpoint
from declip_mm.ovshapes import probe

GATES = {'64': 80.0, '128': 65.0}
"""Zero-shot crop classification, 30 classes, %, per world (docs/ovshapes.md)."""


@pytest.fixture(scope='module', params=sorted(GATES))
def world(request):
    return request.param


@pytest.fixture(scope='module')
def checkpoint(world):
    path = tiny_clip_checkpoint(world)
    assert os.path.isfile(path), \
        f'shipped checkpoint missing: {path} (tools/ovshapes/pretrain_clip.py --world {world})'
    return path


@pytest.fixture(scope='module')
def state_dict(checkpoint):
    return torch.load(checkpoint, map_location='cpu', weights_only=True)


@pytest.fixture(scope='module')
def towers(checkpoint):
    return probe.load_tiny_clip(checkpoint, mode='csa')


@pytest.fixture(scope='module')
def scenes(world):
    test = SPLITS['test']
    return make_scenes(200, test.seed, test.base_only, world=world)


def test_checkpoint_is_a_small_open_clip_state_dict(state_dict, checkpoint):
    assert os.path.getsize(checkpoint) < 12 * 2 ** 20
    assert any(k.startswith('visual.') for k in state_dict)
    assert {'token_embedding.weight', 'text_projection', 'logit_scale'} <= set(state_dict)
    assert all(v.dtype == torch.float16 for v in state_dict.values() if v.is_floating_point())
    emb = state_dict['token_embedding.weight']
    used = emb.abs().sum(1) > 0  # only the tokens of OV-Shapes captions / prompts are kept
    assert 10 < int(used.sum()) < 100


def test_towers_match_open_clip(state_dict, towers):
    """DeCLIPViT (vanilla path) and DeCLIPTextEncoder reproduce open_clip's CLIP exactly."""
    from open_clip.model import CLIP
    from open_clip.tokenizer import SimpleTokenizer
    clip = CLIP(**OV_SHAPES_CLIP)
    clip.load_state_dict({k: v.float() for k, v in state_dict.items()}, strict=True)
    clip.eval()
    visual, text = towers
    x = probe.images_to_tensor([s.image for s in make_scenes(4, 7, False)])
    prompts = ['a red ring', 'a blue bar and a cyan circle']
    tokens = SimpleTokenizer(context_length=OV_SHAPES_CLIP['text_cfg']['context_length'])(prompts)
    with torch.no_grad():
        torch.testing.assert_close(visual.encode_image(x),
                                   F.normalize(clip.encode_image(x), dim=-1),
                                   atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(text.encode_text(prompts),
                                   F.normalize(clip.encode_text(tokens), dim=-1),
                                   atol=1e-5, rtol=1e-4)


def test_crop_classification_gate(towers, scenes, world):
    visual, text = towers
    res = probe.evaluate(visual, probe.class_embeddings(text), scenes, what='crop')
    assert res['objects'] > 400
    assert res['all'] >= GATES[world], res
    assert res['colour'] >= res['all'] and res['shape'] >= res['all']
