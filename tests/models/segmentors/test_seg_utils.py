"""Patch padding, cosine logits, synonym reduction and the one-class post-processing guard,
checked by hand."""
import torch
from mmseg.models.segmentors import BaseSegmentor
from mmseg.structures import SegDataSample

from declip_mm.models.segmentors.seg_utils import (center_pad_to_multiple, cosine_logits,
                                                   postprocess_scores, reduce_synonyms,
                                                   threshold_background, vocabulary_groups)


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


def test_postprocess_scores_one_class_is_not_binary():
    """mmseg reads one channel as sigmoid + threshold; one vocabulary class stays a score and
    every pixel is class 0. More channels go through mmseg's code unchanged (un-flip, resize)."""
    class Stub:  # mmseg's postprocess_result needs only align_corners (and, one channel, a head)
        align_corners = False
    post = lambda x, s: BaseSegmentor.postprocess_result(Stub(), x, s)  # noqa: E731
    scores = torch.tensor([[[[0.2, 0.9], [0.4, 0.6]]]])
    sample = SegDataSample(metainfo=dict(ori_shape=(2, 2), flip=True,
                                         flip_direction='horizontal'))
    out = postprocess_scores(post, scores, [sample])[0]
    assert torch.equal(out.seg_logits.data, scores[0].flip(-1))
    assert out.pred_sem_seg.data.tolist() == [[[0, 0], [0, 0]]]
    two = torch.cat([scores, 1 - scores], 1)
    sample = SegDataSample(metainfo=dict(ori_shape=(4, 4)))
    out = postprocess_scores(post, two, [sample])[0]
    assert out.seg_logits.data.shape == (2, 4, 4)
    assert out.pred_sem_seg.data[0, 0].tolist() == [1, 1, 0, 0]


def test_vocabulary_groups():
    names, index = vocabulary_groups(['sky; cloud', 'person', ['building', 'edifice']])
    assert names == ['sky', 'cloud', 'person', 'building', 'edifice']
    assert index.tolist() == [0, 0, 1, 2, 2]
    names, index = vocabulary_groups(['sky; cloud', 'person'], first_only=True)
    assert names == ['sky', 'person'] and index.tolist() == [0, 1]
