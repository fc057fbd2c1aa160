"""OV-Shapes distillation data with instance maps, through the upper-bound teacher's config:
the maps match the scenes' masks, the distiller's context loss runs on them, and without them
the teacher raises one clear error."""
import os

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from declip_mm.datasets.ov_shapes import make_scenes, write_split
from declip_mm.ovshapes.affinity_probe import scene_instance_maps
from declip_mm.registry import DATASETS, MODELS
from declip_mm.utils.errors import DataError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(ROOT, 'configs', 'ovshapes', 'declip_distill-context-gt_ovshapes.py')
SEED, N = 7, 4


@pytest.fixture(scope='module')
def cfg(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('ovs_inst')
    write_split(str(tmp / 'train_base'), N, SEED, base_only=True)
    cfg = Config.fromfile(CONFIG)
    cfg.train_dataloader.dataset.data_root = f'{tmp}/'
    cfg.train_dataloader.dataset.indices = N
    return cfg


def test_instance_maps_match_the_scenes(cfg):
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    expected = scene_instance_maps(make_scenes(N, SEED, base_only=True))
    for i in range(N):
        got = ds[i]['data_samples'].instance_map
        assert got.dtype == torch.int64 and torch.equal(got, expected[i])
        assert int(got.max()) >= 1


def test_distiller_context_loss_on_instance_maps(cfg):
    torch.manual_seed(0)
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    model = MODELS.build(cfg.model)
    model.init_weights()
    data = model.data_preprocessor(pseudo_collate([ds[i] for i in range(N)]), True)
    losses = model(**data, mode='loss')
    ctx = float(losses['loss_context'].detach())
    assert np.isfinite(ctx) and 0.0 < ctx < cfg.model.context_loss.loss_weight * 2 * 8
    # the teacher's features are the scenes' instance structure: a perfect affinity AUC
    feats = model.vfm(data['inputs']['vfm'], data['data_samples'])
    from declip_mm.evaluation.affinity import (affinity_auc, feature_similarity,
                                               patch_instance_labels)
    maps = torch.stack([s.instance_map for s in data['data_samples']])
    assert affinity_auc(feature_similarity(feats), patch_instance_labels(maps, 8)) > 0.99
    # the same batch without instance maps (the content-only pipeline): one clear error
    for s in data['data_samples']:
        del s.instance_map
    with pytest.raises(DataError, match='proving-ground teacher'):
        model(**data, mode='loss')
