"""The proving ground's upper-bound context teacher: features from instance maps."""
import pytest
import torch
from mmengine.structures import BaseDataElement

from declip_mm.evaluation.affinity import affinity_auc, feature_similarity, patch_instance_labels
from declip_mm.models.distillers.gt_teacher import (DeCLIPGTInstanceTeacher, gt_patch_features,
                                                    instance_codebook, instance_fractions)
from declip_mm.registry import MODELS
from declip_mm.utils.errors import DataError


def sample(ids: torch.Tensor) -> BaseDataElement:
    s = BaseDataElement()
    s.instance_map = ids
    return s


def test_fractions_and_features():
    ids = torch.zeros(1, 4, 6, dtype=torch.long)
    ids[0, :2, :2] = 1
    ids[0, :, 4:] = 2
    ids[0, 2, 0] = 1
    frac = instance_fractions(ids, 2, 3)
    assert frac.shape == (1, 3, 2, 3)
    assert frac[0, :, 0, 0].tolist() == [0.0, 1.0, 0.0]
    assert frac[0, :, 1, 0].tolist() == [0.75, 0.25, 0.0]
    assert frac[0, :, 1, 2].tolist() == [0.0, 0.0, 1.0]
    book = instance_codebook(3, 16, seed=0)
    feats = gt_patch_features(ids, book, 2)
    assert torch.allclose(feats[0, :, 1, 0], 0.75 * book[0] + 0.25 * book[1])
    assert torch.allclose(book.norm(dim=-1), torch.ones(3))
    with pytest.raises(DataError, match=r'\[0, 3\)'):
        instance_fractions(ids + 1, 2, 3)


def test_teacher_affinities_are_same_object_or_not():
    teacher = MODELS.build(dict(type='DeCLIPGTInstanceTeacher', patch_size=2, dim=256))
    ids = torch.zeros(2, 8, 8, dtype=torch.long)
    ids[0, :4, :4], ids[0, 4:, 4:] = 1, 2
    ids[1, 2:6, 2:6] = 1                     # 4 patches of one object
    out = teacher(torch.zeros(2, 3, 8, 8), [sample(m) for m in ids])
    assert out.shape == (2, 256, 4, 4)
    sim = feature_similarity(out)
    labels = patch_instance_labels(ids, 2)
    assert affinity_auc(sim, labels) == 1.0
    same = sim[0][labels[0] == 1][:, labels[0] == 1]
    assert torch.allclose(same, torch.ones_like(same), atol=1e-5)
    # two random 256-d unit vectors: |cos| well below 1
    assert float(sim[0][labels[0] == 1][:, labels[0] == 2].abs().max()) < 0.3


def test_teacher_needs_instance_maps():
    teacher = DeCLIPGTInstanceTeacher(patch_size=8)
    with pytest.raises(DataError, match='proving-ground teacher'):
        teacher(torch.zeros(1, 3, 64, 64), None)
    with pytest.raises(DataError, match='instance maps in the batch'):
        teacher(torch.zeros(1, 3, 64, 64), [BaseDataElement()])


def test_distinct_background_leaves_only_same_object_pairs_similar():
    teacher = DeCLIPGTInstanceTeacher(patch_size=2, dim=512, background='distinct')
    ids = torch.zeros(1, 8, 8, dtype=torch.long)
    ids[0, :4, :4] = 1
    sim = feature_similarity(teacher(torch.zeros(1, 3, 8, 8), [sample(ids[0])]))[0]
    labels = patch_instance_labels(ids, 2)[0]
    bg = labels == 0
    off_diag = ~torch.eye(16, dtype=torch.bool)
    assert float(sim[bg][:, bg][off_diag[bg][:, bg]].abs().max()) < 0.3
    assert torch.allclose(sim[labels == 1][:, labels == 1], torch.ones(4, 4), atol=1e-5)
    with pytest.raises(Exception, match="'shared' or 'distinct'"):
        DeCLIPGTInstanceTeacher(background='none')
