"""Sliding windows, synonym reduction and post-processing helpers, checked by hand."""
import torch

from declip_mm.models.segmentors.seg_utils import (center_pad_to_multiple, cosine_logits,
                                                   reduce_synonyms, restore_to_original,
                                                   slide_inference, slide_windows,
                                                   threshold_background, vocabulary_groups)


def test_slide_windows_cover_and_stay_inside():
    # H=10, crop 4, stride 3 -> rows start 0, 3, 6 (last clipped to 6..10); W=4 -> one column
    assert slide_windows(10, 4, 4, 3) == [(0, 4, 0, 4), (3, 7, 0, 4), (6, 10, 0, 4)]
    # image smaller than the crop: a single crop of the image
    assert slide_windows(3, 5, 8, 2) == [(0, 3, 0, 5)]
    # CAT-Seg's 640 / 384 / 256 grid equals nn.Unfold's windows
    assert [b[:2] for b in slide_windows(640, 640, 384, 256)][::2] == [(0, 384), (256, 640)]


def test_slide_inference_averages_overlaps():
    img = torch.arange(10.).view(1, 1, 10, 1).expand(1, 3, 10, 1)
    calls = []

    def fn(crop):  # each crop predicts its own first row's value everywhere, plus the call number
        calls.append(crop.shape)
        return torch.full((1, 1, *crop.shape[-2:]), float(len(calls)))

    out = slide_inference(img, crop=4, stride=3, fn=fn)
    # rows 0-2: crop 1; rows 3: crops 1, 2; rows 4-5: crop 2; row 6: crops 2, 3; 7-9: crop 3
    expect = torch.tensor([1, 1, 1, 1.5, 2, 2, 2.5, 3, 3, 3])
    assert torch.allclose(out.view(-1), expect)
    assert len(calls) == 3


def test_center_pad_to_multiple():
    x = torch.ones(1, 1, 5, 8)
    y, pad = center_pad_to_multiple(x, 4)
    assert pad == (0, 0, 1, 2) and y.shape == (1, 1, 8, 8)
    assert y[0, 0, 1:6].sum() == 40 and y.sum() == 40


def test_cosine_logits_hand_case():
    dense = torch.tensor([[3., 0.], [0., 2.]]).T.reshape(1, 2, 1, 2)  # two pixels: x-axis, y-axis
    text = torch.tensor([[1., 0.], [1., 1.]])
    out = cosine_logits(dense, text)
    s = 2 ** -0.5
    assert torch.allclose(out[0, :, 0], torch.tensor([[1., 0.], [s, s]]))


def test_reduce_synonyms_takes_max_per_class():
    scores = torch.tensor([0.1, 0.5, 0.2, 0.7]).view(1, 4, 1, 1)
    index = torch.tensor([0, 1, 1, 0])
    out = reduce_synonyms(scores, index, 2)
    assert torch.allclose(out.view(-1), torch.tensor([0.7, 0.5]))
    # identity when every class has one name
    assert reduce_synonyms(scores, torch.arange(4), 4) is scores


def test_threshold_background():
    probs = torch.tensor([[0.2, 0.5], [0.3, 0.1], [0.5, 0.4]]).view(1, 3, 1, 2)
    assert threshold_background(probs, 0.0).view(-1).tolist() == [2, 0]
    assert threshold_background(probs, 0.45).view(-1).tolist() == [2, 0]
    assert threshold_background(probs, 0.51, bg_idx=1).view(-1).tolist() == [1, 1]


def test_restore_to_original_unpads_unflips_resizes():
    x = torch.arange(12.).view(1, 1, 3, 4)
    meta = dict(ori_shape=(2, 3), img_padding_size=[0, 1, 0, 1], flip=True,
                flip_direction='horizontal')
    out = restore_to_original(x, meta)
    assert torch.equal(out[0, 0], torch.tensor([[2., 1., 0.], [6., 5., 4.]]))
    meta = dict(ori_shape=(6, 8))
    assert restore_to_original(x, meta).shape == (1, 1, 6, 8)


def test_vocabulary_groups():
    names, index = vocabulary_groups(['sky; cloud', 'person', ['building', 'edifice']])
    assert names == ['sky', 'cloud', 'person', 'building', 'edifice']
    assert index.tolist() == [0, 0, 1, 2, 2]
    names, index = vocabulary_groups(['sky; cloud', 'person'], first_only=True)
    assert names == ['sky', 'person'] and index.tolist() == [0, 1]
