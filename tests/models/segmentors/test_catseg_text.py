"""DeCLIPCATSegTextEncoder: per-template embeddings, differentiable in training, cached in eval
through the one embedding cache (keyed by the weights, so a training step invalidates it)."""
import torch
import torch.nn.functional as F

from declip_mm.models.segmentors.catseg_text import DeCLIPCATSegTextEncoder

NAMES = ['sky', 'cat', 'traffic_light']


def build():
    from declip_mm.testing import TINY_EVA
    torch.manual_seed(0)
    return DeCLIPCATSegTextEncoder(arch=dict(TINY_EVA), templates=['a {}.', 'the {}.'])


def test_eval_embeddings_are_cached_per_weights(monkeypatch):
    enc = build().eval()
    assert enc.cache.cache_dir is None            # trained weights: memory only by default
    calls = []
    original = enc.encode_prompts
    monkeypatch.setattr(enc, 'encode_prompts',
                        lambda *a, **k: (calls.append(1), original(*a, **k))[1])
    emb = enc(NAMES)
    assert emb.shape == (3, 2, 32) and len(calls) == 1
    ref = F.normalize(enc.encode_text(['a sky.', 'the sky.', 'a cat.', 'the cat.',
                                       'a traffic_light.', 'the traffic_light.']), dim=-1)
    torch.testing.assert_close(emb.reshape(6, 32), ref)
    assert torch.equal(enc(NAMES), emb) and len(calls) == 1      # cached
    with torch.no_grad():                                         # a training step's update
        enc.text.transformer.resblocks[0].attn.in_proj_weight.add_(0.5)
    assert not torch.allclose(enc(NAMES), emb) and len(calls) == 2


def test_training_forward_has_gradients_and_matches_eval():
    enc = build()
    ref = enc.eval()(NAMES)
    out = enc.train()(NAMES)
    torch.testing.assert_close(out, ref)
    out.sum().backward()
    grads = [p.grad for p in enc.text.parameters() if p.requires_grad]
    assert grads and all(g is not None for g in grads)
