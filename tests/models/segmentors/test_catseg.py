"""CAT-Seg with a tiny DeCLIP EVA tower: trainable parameters, one training step, inference."""
import copy
import re

import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import build_optim_wrapper
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import declip_mm  # noqa: F401  (registers)
from declip_mm.models.segmentors.catseg_head import one_hot_bce
from declip_mm.models.segmentors.seg_utils import reduce_synonyms
from declip_mm.models.segmentors.training_free import clip_data_preprocessor
from declip_mm.testing import TINY_EVA

@pytest.fixture(autouse=True)
def mmseg_scope():
    """Build mmseg types (SegDataPreProcessor, ...) by name, as a runner would."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')


Q_V = ['visual.trunk.blocks.*.attn.q_proj.weight', 'visual.trunk.blocks.*.attn.v_proj.weight']


def tiny_catseg(**overrides) -> dict:
    cfg = dict(
        type='DeCLIPCATSeg',
        data_preprocessor=clip_data_preprocessor(size=(64, 64)),
        backbone=dict(type='DeCLIPViT', arch=TINY_EVA, mode='csa', out_indices=(1, 2),
                      out_dense=True, frozen=True, trainable=Q_V),
        text_encoder=dict(type='DeCLIPCATSegTextEncoder', arch=TINY_EVA),
        neck=dict(type='DeCLIPCATSegAggregator', embed_dim=32, hidden_dim=16, num_layers=2,
                  num_heads=2, window_size=4, appearance_guidance_dim=8, text_guidance_dim=8,
                  pad_len=8),
        decode_head=dict(type='DeCLIPCATSegHead', in_channels=16, channels=8, clip_width=64,
                         decoder_dims=(16, 8), guidance_dims=(16, 8), guidance_proj_dims=(4, 2),
                         num_classes=3),
        train_class_names=['sky', 'cat', 'grass'],
        clip_resolution=(64, 64),
        test_cfg=dict(mode='slide', crop_size=64, stride=32, out_size=96, global_view=True))
    cfg.update(overrides)
    return cfg


def build(**overrides):
    torch.manual_seed(0)
    return MODELS.build(tiny_catseg(**overrides))


def sample(h=64, w=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    img = torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8)
    label = torch.randint(0, 3, (1, h, w), generator=g)
    label[:, :4] = 255
    ds = SegDataSample(gt_sem_seg=PixelData(data=label))
    ds.set_metainfo(dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
    return img, ds


def test_only_q_v_and_text_in_proj_are_trainable():
    model = build()
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    clip = [n for n in trainable if n.startswith(('backbone.', 'text_encoder.'))]
    depth, text_layers = TINY_EVA['vision_cfg']['layers'], TINY_EVA['text_cfg']['layers']
    expect = ([f'backbone.visual.trunk.blocks.{i}.attn.{w}_proj.weight'
               for i in range(depth) for w in 'qv']
              + [f'text_encoder.text.transformer.resblocks.{i}.attn.in_proj_weight'
                 for i in range(text_layers)])
    assert sorted(clip) == sorted(expect)
    # everything outside the two CLIP towers trains; the q / v biases stay frozen
    others = [n for n, _ in model.named_parameters()
              if not n.startswith(('backbone.', 'text_encoder.'))]
    assert set(others) <= set(trainable) and others
    assert not model.backbone.visual['trunk'].blocks[0].attn.q_proj.bias.requires_grad


def test_one_training_step_end_to_end():
    model = build()
    model.train()
    batch = [sample(64, 64, s) for s in range(2)]
    data = model.data_preprocessor(dict(inputs=[b[0] for b in batch],
                                        data_samples=[b[1] for b in batch]), training=True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'decode.loss_bce', 'decode.acc_seg'}
    # the loss is the one-hot BCE of the logits, upsampled to the label size
    with torch.no_grad():
        logits = model.logits(data['inputs'], model.train_names)
        logits = torch.nn.functional.interpolate(logits, size=(64, 64), mode='bilinear')
        labels = torch.stack([d.gt_sem_seg.data[0] for d in data['data_samples']])
        assert losses['decode.loss_bce'].item() == pytest.approx(
            one_hot_bce(logits, labels).item(), rel=1e-4)

    optim = build_optim_wrapper(model, dict(
        type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-2, weight_decay=1e-4),
        paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.01),
                                        'text_encoder': dict(lr_mult=0.01)})))
    before = copy.deepcopy(model.state_dict())
    optim.update_params(losses['decode.loss_bce'])
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert 'backbone.visual.trunk.blocks.0.attn.q_proj.weight' in changed
    assert 'backbone.visual.trunk.blocks.3.attn.v_proj.weight' in changed
    assert 'text_encoder.text.transformer.resblocks.1.attn.in_proj_weight' in changed
    assert 'decode_head.conv_seg.weight' in changed and 'neck.cost_embed.weight' in changed
    clip_changed = {k for k in changed if k.startswith(('backbone.', 'text_encoder.'))}
    assert all(re.search(r'(q_proj|v_proj)\.weight$|in_proj_weight$', k) for k in clip_changed)
    # 0.01x learning rate on CLIP: AdamW's first step moves each weight by about lr * mult
    step = (after['backbone.visual.trunk.blocks.0.attn.q_proj.weight']
            - before['backbone.visual.trunk.blocks.0.attn.q_proj.weight']).abs().max()
    assert step.item() == pytest.approx(1e-4, rel=0.05)


def test_slide_inference_and_open_vocabulary():
    model = build().eval()
    img, ds = sample(80, 100, 1)
    ds.set_metainfo(dict(ori_shape=(120, 150)))
    data = model.data_preprocessor(dict(inputs=[img], data_samples=[ds]), training=False)
    out = model(**data, mode='predict')[0]
    assert out.pred_sem_seg.data.shape == (1, 120, 150)
    assert out.seg_logits.data.shape == (3, 120, 150)
    assert 0 <= out.seg_logits.data.min() and out.seg_logits.data.max() <= 1
    assert out.pred_sem_seg.data.max() < 3

    # any vocabulary at test time; a synonym group scores its class by the max
    model.set_vocabulary(['sky; cloud', 'dog', 'tree; grass; bush'])
    with torch.no_grad():
        names = model.slide_inference(data['inputs'], [dict(ori_shape=(120, 150))])
    classes = reduce_synonyms(names, model.test_index, 3)
    assert names.shape[1] == 6 and classes.shape[1] == 3
    assert torch.allclose(classes[:, 0], names[:, :2].amax(1))
    assert torch.allclose(classes[:, 1], names[:, 2])
    assert torch.allclose(classes[:, 2], names[:, 3:].amax(1))


def test_slide_resizes_once_to_the_original_size():
    """As CAT-Seg's ``inference_sliding_window``: 640-frame (here 96) scores = mmseg's slide
    average of per-crop sigmoid scores, averaged with the global view, then ONE bilinear
    resize straight to the original size (no detour through the network-input size)."""
    from mmseg.models.segmentors import EncoderDecoder
    model = build().eval()
    img, ds = sample(80, 100, 1)
    ds.set_metainfo(dict(ori_shape=(120, 150), flip=True, flip_direction='horizontal'))
    data = model.data_preprocessor(dict(inputs=[img], data_samples=[ds]), training=False)
    x = data['inputs']
    with torch.no_grad():
        out = model(**data, mode='predict')[0]
        big = F.interpolate(x, size=(96, 96), mode='bilinear')
        slid = EncoderDecoder.slide_inference(model, big, [dict(ori_shape=(120, 150))])
        glob = model.encode_decode(F.interpolate(x, size=(64, 64), mode='bilinear'))
        scores = (slid + F.interpolate(glob, size=(96, 96), mode='bilinear')) / 2
    assert slid.shape == (1, 3, 96, 96)
    expect = F.interpolate(scores.flip(-1), size=(120, 150), mode='bilinear')[0]
    assert torch.allclose(out.seg_logits.data, expect, atol=1e-6)
    assert torch.equal(out.pred_sem_seg.data[0], out.seg_logits.data.argmax(0))
    # a crop's scores: the head's logits resized to the crop, then the sigmoid
    with torch.no_grad():
        crop = big[:, :, :64, :64]
        ref = F.interpolate(model.logits(crop, model.test_names), size=(64, 64),
                            mode='bilinear').sigmoid()
        assert torch.allclose(model.encode_decode(crop), ref, atol=1e-6)


def test_whole_mode_resizes_head_scores_once():
    model = build(test_cfg=dict(mode='whole')).eval()
    img, ds = sample(80, 100, 2)
    ds.set_metainfo(dict(ori_shape=(90, 70)))
    data = model.data_preprocessor(dict(inputs=[img], data_samples=[ds]), training=False)
    with torch.no_grad():
        out = model(**data, mode='predict')[0]
        head = model.logits(data['inputs'], model.test_names).sigmoid()   # (1, 3, 32, 32)
    assert head.shape[-2:] == (32, 32)
    expect = F.interpolate(head, size=(90, 70), mode='bilinear')[0]
    assert torch.allclose(out.seg_logits.data, expect, atol=1e-6)


def test_bare_tensors_and_test_time_padding():
    from declip_mm.utils.errors import ConfigError
    model = build().eval()
    with torch.no_grad():
        out = model.predict(torch.randn(1, 3, 40, 56))[0]
    assert out.seg_logits.data.shape == (3, 40, 56)
    padded = SegDataSample(metainfo=dict(ori_shape=(40, 56), padding_size=[0, 2, 0, 0]))
    with pytest.raises(ConfigError, match='padding'):
        model.predict(torch.randn(1, 3, 40, 58), [padded])


def test_more_classes_than_pad_len_keeps_top_k():
    model = build().eval()
    vocab = ['sky', 'cat', 'grass', 'dog', 'tree', 'car', 'road', 'water', 'house', 'person']
    model.set_vocabulary(vocab)  # 10 > pad_len 8
    with torch.no_grad():
        logits = model.logits(torch.randn(1, 3, 64, 64), model.test_names)
    assert logits.shape[1] == 10
    dropped = (logits == -100).flatten(2).all(-1)[0]
    assert int(dropped.sum()) == 2


def test_training_vocabulary_must_not_group_synonyms():
    from declip_mm.utils.errors import ConfigError
    model = build(train_class_names=['sky; cloud', 'cat', 'grass']).train()
    img, ds = sample()
    data = model.data_preprocessor(dict(inputs=[img], data_samples=[ds]), training=True)
    with pytest.raises(ConfigError):
        model(**data, mode='loss')
