"""Training-free DeCLIP segmentation on a real photo (scikit-image) with a tiny EVA tower."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import declip_mm  # noqa: F401
from declip_mm.models.segmentors.seg_utils import center_pad_to_multiple
from declip_mm.testing import TINY_EVA
from declip_mm.utils.errors import ConfigError

@pytest.fixture(autouse=True)
def mmseg_scope():
    """Build mmseg types (SegDataPreProcessor, ...) by name, as a runner would."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')


VOCAB = ['person; man; woman', 'sky', 'rocket; spaceship', 'grass']


def build(**kw):
    """A tiny segmentor; ``model`` below shares one (and its cached text embeddings)."""
    cfg = dict(type='DeCLIPTrainingFreeSegmentor',
               backbone=dict(type='DeCLIPViT', arch=TINY_EVA, mode='csa',
                             attn_scale='head_dim', frozen=True),
               text_encoder=dict(type='DeCLIPTextEncoder', arch=TINY_EVA, templates='imagenet'),
               class_names=VOCAB, logit_scale=40, slide_crop=48, slide_stride=16)
    cfg.update(kw)
    torch.manual_seed(0)
    return MODELS.build(cfg).eval()


@pytest.fixture(scope='module')
def model():
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
    return build()


@pytest.fixture(scope='module')
def photo():
    """scikit-image's rocket photo (427x640, public domain), resized to 60x90, as BGR CHW."""
    from skimage import data
    from skimage.transform import resize
    rgb = (resize(data.rocket(), (60, 90), anti_aliasing=True) * 255).astype(np.uint8)
    return torch.from_numpy(np.ascontiguousarray(rgb[..., ::-1])).permute(2, 0, 1)


def run(model, img, ori_shape):
    ds = SegDataSample()
    ds.set_metainfo(dict(img_shape=tuple(img.shape[-2:]), ori_shape=ori_shape))
    data = model.data_preprocessor(dict(inputs=[img], data_samples=[ds]), training=False)
    return data, model(**data, mode='predict')[0]


def test_slide_inference_on_a_real_photo(model, photo):
    data, out = run(model, photo, (427, 640))
    pred, probs = out.pred_sem_seg.data, out.seg_logits.data
    assert pred.shape == (1, 427, 640) and probs.shape == (4, 427, 640)
    assert pred.dtype == torch.int64 and 0 <= pred.min() and pred.max() < 4
    assert torch.equal(pred[0], probs.argmax(0))
    # synonyms: the softmax runs over the 7 names, a class keeps its best name's probability
    with torch.no_grad():
        logits = model.inference(data['inputs'], [out.metainfo])
    assert logits.shape == (1, 7, 60, 90)
    probs_in = (logits * 40).softmax(1)
    cls = model.class_probabilities(logits)
    assert torch.allclose(cls[:, 0], probs_in[:, :3].amax(1))
    assert torch.allclose(cls[:, 2], probs_in[:, 4:6].amax(1))


def test_whole_image_matches_a_manual_computation(model, photo):
    model.slide_crop = 0
    data, out = run(model, photo, (120, 180))
    x = data['inputs']
    with torch.no_grad():
        padded, (left, _, top, _) = center_pad_to_multiple(x, 8)   # 60x90 -> 64x96
        dense = F.normalize(model.backbone.encode_dense(padded), dim=1)
        text, index = model.text_encoder.encode_vocabulary(VOCAB)
        cos = torch.einsum('bdhw,sd->bshw', dense, F.normalize(text, dim=-1))
        cos = F.interpolate(cos, size=(64, 96), mode='bilinear')[:, :, top:top + 60,
                                                                   left:left + 90]
        cos = F.interpolate(cos, size=(120, 180), mode='bilinear')
        p = (40 * cos).softmax(1)[0]
    expect = torch.stack([p[index == c].amax(0) for c in range(4)])
    assert torch.allclose(out.seg_logits.data, expect, atol=1e-5)
    # a crop as large as the image is the whole image
    model.slide_crop, model.slide_stride = 96, 32
    _, slid = run(model, photo, (120, 180))
    model.slide_crop, model.slide_stride = 48, 16
    assert torch.allclose(slid.seg_logits.data, expect, atol=1e-5)


def test_slide_is_mmseg_slide_inference_and_postprocessing_is_mmseg(model, photo):
    """The slide average is mmseg's ``EncoderDecoder.slide_inference`` over our per-crop
    ``encode_decode``; un-pad, un-flip and resize are mmseg's ``postprocess_result``."""
    from mmseg.models.segmentors import EncoderDecoder
    meta = dict(ori_shape=(70, 50), flip=True, flip_direction='horizontal',
                padding_size=[3, 2, 1, 4])
    data, out = run(model, photo, (70, 50))
    x = data['inputs']
    with torch.no_grad():
        crops = []
        for y1, x1 in [(0, 0), (0, 16), (0, 32), (0, 42), (12, 0), (12, 16), (12, 32), (12, 42)]:
            crops.append(((y1, x1), model.encode_decode(x[:, :, y1:y1 + 48, x1:x1 + 48])))
        total = torch.zeros(1, 7, 60, 90)
        count = torch.zeros(1, 1, 60, 90)
        for (y1, x1), c in crops:
            total[:, :, y1:y1 + 48, x1:x1 + 48] += c
            count[:, :, y1:y1 + 48, x1:x1 + 48] += 1
        slid = EncoderDecoder.slide_inference(model, x, [dict(meta)])
        assert torch.equal(slid, total / count)
        sample = SegDataSample(metainfo=meta)
        got = model.postprocess_result(slid, [sample])[0].seg_logits.data
    cut = slid[:, :, 1:60 - 4, 3:90 - 2].flip(-1)
    cut = F.interpolate(cut, size=(70, 50), mode='bilinear')
    assert torch.allclose(got, model.class_probabilities(cut)[0], atol=1e-6)


def test_one_name_vocabulary_is_one_class(model, photo):
    model.set_vocabulary(['rocket'])
    _, out = run(model, photo, (30, 45))
    model.set_vocabulary(VOCAB)
    assert out.seg_logits.data.shape == (1, 30, 45)
    assert torch.allclose(out.seg_logits.data, torch.ones(1, 30, 45))
    assert (out.pred_sem_seg.data == 0).all()


def test_background_threshold_and_vocabulary_swap(model, photo):
    model.prob_thd, model.bg_idx = 1.01, 1
    _, out = run(model, photo, (60, 90))
    model.prob_thd, model.bg_idx = 0.0, 0
    assert (out.pred_sem_seg.data == 1).all()
    # settings from the constructor
    assert build(prob_thd=0.4, logit_scale=80).prob_thd == 0.4
    model.set_vocabulary('voc21')
    assert len(model.class_names) == 21 and model.class_names[0] == 'background'
    with pytest.raises(ConfigError):
        model.set_vocabulary('no_such_dataset')
    model.set_vocabulary(VOCAB)
    with pytest.raises(ConfigError):
        model.loss(torch.zeros(1, 3, 8, 8), [])
