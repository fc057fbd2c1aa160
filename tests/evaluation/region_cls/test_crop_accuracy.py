"""Crop and masked-crop accuracies: the crops, their classification and the metric's numbers."""
import numpy as np
import pytest
import torch
from mmengine.structures import BaseDataElement

import declip_mm  # noqa: F401
from declip_mm.evaluation.region_cls.crop_classifier import classify_crops
from declip_mm.evaluation.region_cls.metric import DeCLIPRegionClsMetric
from declip_mm.evaluation.region_cls.transforms import mask_to_box, region_crops


def test_region_crops_windows_and_grey_fill():
    img = np.zeros((20, 40, 3), np.uint8)
    img[..., 0] = np.arange(40)[None, :]                    # channel 0 = column index
    img[..., 1] = np.arange(20)[:, None]                    # channel 1 = row index
    mask_thing = np.zeros((20, 40), bool)
    mask_thing[4:8, 10:14] = True
    mask_stuff = np.zeros((20, 40), bool)
    mask_stuff[0:2, 0:8] = True
    boxes = np.array([[10, 4, 14, 8], mask_to_box(mask_stuff)], np.float32)
    assert boxes[1].tolist() == [0, 0, 7, 1]                # official mask2box: inclusive ends
    crops, masked = region_crops(img, boxes, np.array([True, False]),
                                 np.stack([mask_thing, mask_stuff]), size=12)
    assert crops.shape == masked.shape == (2, 12, 12, 3) and crops.dtype == np.uint8
    # thing: the 4 x 4 box enlarged 1.5x around (12, 6) -> columns 9..15, rows 3..9 (6 x 6),
    # resized to 12 x 12: no padding; the first column shows image column 9
    assert crops[0, :, 0, 0].min() >= 8 and crops[0, :, -1, 0].max() <= 15
    assert crops[0, 0, :, 1].max() <= 4 and crops[0, -1, :, 1].min() >= 7
    # masked: outside the segment is grey 114 (corner, blended by bicubic with the segment's
    # edge), inside keeps the image (channel 2 is 0 in the image)
    assert masked[0, 0, 0, 2] > 80 and masked[0, 6, 6, 2] == 0 and crops[0, 0, 0, 2] == 0
    # stuff: window columns 0..6, rows 0 (7 x 1) -> 12 x 2 after resize, centred vertically
    # with black padding (5 rows above, 5 below)
    assert (crops[1, :5] == 0).all() and (crops[1, 7:] == 0).all()
    assert (masked[1, 5:7, :, 2] == 0).all()                # inside the mask: image values


class FixedEncoder(torch.nn.Module):
    """encode_image: the mean colour of each crop as a 3-d embedding."""

    def encode_image(self, x, normalize=True):
        emb = x.mean(dim=(2, 3))
        return torch.nn.functional.normalize(emb, dim=-1) if normalize else emb


def test_classify_crops_and_metric_numbers():
    classes = torch.eye(3)                                   # class c = colour channel c
    red, green, blue = (torch.zeros(3, 4, 4) for _ in range(3))
    red[0], green[1], blue[2] = 1, 1, 1
    s1 = BaseDataElement(labels=torch.tensor([0, 1]), is_thing=torch.tensor([True, False]),
                         crops=torch.stack([red, blue]), masked_crops=torch.stack([red, green]),
                         pred_box_topk=torch.tensor([[0, 1], [1, 0]]),
                         pred_mask_topk=torch.tensor([[1, 0], [2, 1]]))
    s2 = BaseDataElement(labels=torch.tensor([2]), is_thing=torch.tensor([False]),
                         crops=blue[None], masked_crops=red[None],
                         pred_box_topk=torch.tensor([[0, 2]]),
                         pred_mask_topk=torch.tensor([[2, 0]]))
    out = classify_crops(FixedEncoder(), classes, [s1, s2], topk=2)
    assert out[0].pred_crop_topk[:, 0].tolist() == [0, 2]
    assert out[0].pred_masked_crop_topk[:, 0].tolist() == [0, 1]
    assert out[1].pred_crop_topk[:, 0].tolist() == [2]
    assert out[1].pred_masked_crop_topk[:, 0].tolist() == [0]
    metric = DeCLIPRegionClsMetric(topk=(1,))
    metric.process({}, [s.to_dict() for s in out])
    res = metric.compute_metrics(metric.results)
    # thing: class 0 only. stuff: classes 1 and 2.
    assert res['box_thing_macc1'] == 100.0 and res['box_stuff_macc1'] == pytest.approx(50.0)
    assert res['mask_thing_macc1'] == 0.0 and res['mask_stuff_macc1'] == pytest.approx(50.0)
    assert res['crop_thing_macc1'] == 100.0 and res['crop_stuff_macc1'] == pytest.approx(50.0)
    assert res['masked_crop_thing_macc1'] == 100.0
    assert res['masked_crop_stuff_macc1'] == pytest.approx(50.0)
    assert res['crop_acc1'] == pytest.approx(200 / 3)
    assert res['num_regions'] == 3
    # without crops the metric reports box and mask only
    plain = DeCLIPRegionClsMetric(topk=(1,))
    plain.process({}, [dict(labels=torch.tensor([0]), is_thing=torch.tensor([True]),
                            pred_box_topk=torch.tensor([[0]]),
                            pred_mask_topk=torch.tensor([[0]]))])
    assert not any(k.startswith(('crop', 'masked')) for k in plain.compute_metrics(plain.results))
