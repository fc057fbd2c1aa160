"""The per-world config table of the proving ground (declip_mm.ovshapes.recipes)."""
import os

import pytest

from declip_mm.ovshapes.recipes import distill_overrides, recipe_config, recipe_configs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize('world', ['64', '128'])
def test_every_recipe_config_exists(world):
    configs = recipe_configs(world)
    assert set(configs) == {'content', 'gt', 'simmim', 'dino', 'det', 'baseline', 'seg'}
    for path in configs.values():
        assert os.path.isfile(os.path.join(ROOT, path)), path


def test_the_64_world_keeps_its_original_files():
    assert recipe_config('content') == 'configs/ovshapes/declip_distill_ovshapes.py'
    assert recipe_config('det', '128') == 'configs/ovshapes/fvit_tiny-declip_ovshapes128.py'


def test_bad_world_or_recipe_names_the_choices():
    with pytest.raises(ValueError, match=r"world '256'.*\['128', '64'\]"):
        recipe_configs('256')
    with pytest.raises(ValueError, match="recipe 'dinov3'"):
        recipe_config('dinov3')


def test_distill_overrides_follow_the_epochs_and_weight(tmp_path):
    opts = distill_overrides(str(tmp_path), seed=3, scenes=100, epochs=2, lr=1e-4,
                             context_weight=0.1, clip='/x/clip.pt')
    assert opts['train_dataloader.dataset.data_root'] == f'{tmp_path}/'
    assert opts['param_scheduler.1.end'] == opts['param_scheduler.1.T_max'] == 2
    assert opts['default_hooks.checkpoint.interval'] == 2
    assert opts['model.context_loss.loss_weight'] == 0.1
    assert opts['model.student.init_cfg.checkpoint'] == '/x/clip.pt'
    plain = distill_overrides(str(tmp_path), 0, 100, 4, 3e-4)
    assert 'model.context_loss.loss_weight' not in plain
    assert 'model.student.init_cfg.checkpoint' not in plain
