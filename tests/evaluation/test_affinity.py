"""Same-object patch-pair affinity AUC on hand-made inputs with known answers."""
import math

import torch

from declip_mm.evaluation.affinity import (affinity_auc, binary_auc, context_similarity,
                                           feature_similarity, pair_scores,
                                           patch_instance_labels)


def test_binary_auc_counts_wins_and_half_ties():
    scores = torch.tensor([0.9, 0.8, 0.3, 0.1])
    positive = torch.tensor([True, False, True, False])
    # pos-neg pairs: 0.9>0.8, 0.9>0.1, 0.3<0.8, 0.3>0.1 -> 3 of 4
    assert binary_auc(scores, positive) == 0.75
    # one tie between a positive and a negative counts half: (1 + 0.5) / 2
    assert binary_auc(torch.tensor([0.5, 0.5, 0.2]), torch.tensor([True, False, False])) == 0.75
    assert binary_auc(torch.tensor([1.0, 2.0]), torch.tensor([True, True])) != \
        binary_auc(torch.tensor([1.0, 2.0]), torch.tensor([True, True]))  # NaN: no negative


def test_patch_labels_take_the_majority_instance():
    ids = torch.zeros(1, 4, 4, dtype=torch.long)
    ids[0, :2, :2] = 1            # patch (0, 0): all instance 1
    ids[0, :2, 2:] = 2
    ids[0, 0, 2] = 0              # patch (0, 1): 3 px of instance 2, 1 px of background
    ids[0, 2, 0] = 1              # patch (1, 0): 1 px of instance 1 -> background
    assert patch_instance_labels(ids, 2).tolist() == [[1, 2, 0, 0]]


def test_affinity_auc_uses_foreground_pairs_of_one_image_only():
    labels = torch.tensor([[1, 1, 2, 0]])
    sim = torch.tensor([[[1.0, 0.4, 0.5, 9.0],
                         [0.4, 1.0, 0.1, 9.0],
                         [0.5, 0.1, 1.0, 9.0],
                         [9.0, 9.0, 9.0, 1.0]]])
    scores, positive = pair_scores(sim, labels)
    assert scores.tolist() == [0.4000000059604645, 0.5, 0.10000000149011612]
    assert positive.tolist() == [True, False, False]
    # the positive (0.4) beats one of its two negatives (0.1, not 0.5); background pairs
    # (similarity 9) are left out
    assert affinity_auc(sim, labels) == 0.5
    # pairs pool over images: a second image whose positive beats everything
    labels2 = torch.cat([labels, torch.tensor([[1, 2, 2, 0]])])
    sim2 = torch.cat([sim, torch.tensor([[[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.95, 0.0],
                                           [0.0, 0.95, 1.0, 0.0], [0.0] * 4]])])
    # positives 0.4, 0.95; negatives 0.5, 0.1, 0.0, 0.0: wins 3 + 4 = 7 of 8
    assert affinity_auc(sim2, labels2) == 0.875


def test_feature_and_context_similarity_are_cosines():
    feats = torch.zeros(1, 2, 1, 3)
    feats[0, :, 0, 0] = torch.tensor([1.0, 0.0])
    feats[0, :, 0, 1] = torch.tensor([3.0, 0.0])
    feats[0, :, 0, 2] = torch.tensor([1.0, 1.0])
    sim = feature_similarity(feats)[0]
    assert torch.allclose(sim[0, 1], torch.tensor(1.0))
    assert math.isclose(float(sim[0, 2]), 2 ** -0.5, rel_tol=1e-6)
    # the context similarity is the mean of the Q and K cosine matrices
    q, k = feats, feats.flip(1)
    both = context_similarity((q, k))[0]
    assert torch.allclose(both, (feature_similarity(q)[0] + feature_similarity(k)[0]) / 2)
    assert affinity_auc(feature_similarity(feats), torch.tensor([[1, 1, 2]])) == 1.0
