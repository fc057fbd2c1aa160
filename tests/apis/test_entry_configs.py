"""declip_mm.apis.train_config / test_config: mmdet's and mmseg's tool flags (--show,
--wait-time, --tta, --auto-scale-lr), as tools/train.py and tools/test.py pass them."""
import os

import pytest

from declip_mm.apis import test_config, train_config
from declip_mm.testing.scripts import load_script
from declip_mm.utils.errors import ConfigError
from declip_mm.utils.package_paths import repository_path

DET = repository_path('configs/ovshapes/fvit_tiny-declip_ovshapes.py')
SEG = repository_path('configs/ovshapes/seg_training-free_tiny-declip_ovshapes.py')


def test_test_py_flags_reach_test_config():
    args = load_script('tools/test.py').parse_args([DET, 'x.pth', '--show', '--wait-time',
                                                    '0.5', '--tta'])
    assert (args.show, args.wait_time, args.tta) == (True, 0.5, True)
    assert load_script('tools/test.py').parse_args([DET, 'x.pth']).wait_time == 2


def test_show_wait_time_and_tta_for_mmdet():
    with pytest.warns(UserWarning):
        cfg = test_config(DET, show=True, wait_time=0.5, tta=True)
    hook = cfg.default_hooks.visualization
    assert (hook.draw, hook.show, hook.wait_time) == (True, True, 0.5)
    assert cfg.model.type == 'DetTTAModel' and cfg.model.module.type == 'DeCLIPFViT'
    tta = cfg.test_dataloader.dataset.pipeline[-1]
    assert tta.type == 'TestTimeAug'
    assert [t['prob'] for t in tta.transforms[0]] == [1.0, 0.0]
    pack = tta.transforms[1][0]
    assert pack['type'] == 'PackDetInputs' and {'flip', 'flip_direction', 'text'} <= set(
        pack['meta_keys'])


def test_tta_for_mmseg_needs_the_config_entries(tmp_path):
    """mmseg's default runtime gives ``tta_model`` (SegTTAModel); the pipeline must be given."""
    with pytest.raises(ConfigError, match='--tta needs tta_pipeline in the config'):
        test_config(SEG, tta=True)
    with_tta = tmp_path / 'with_tta.py'
    with_tta.write_text(f"_base_ = [{SEG!r}]\n"
                        "tta_pipeline = [dict(type='LoadImageFromFile')]\n")
    cfg = test_config(str(with_tta), tta=True)
    assert cfg.model.type == 'SegTTAModel'
    assert cfg.model.module.type == 'DeCLIPTrainingFreeSegmentor'
    assert cfg.test_dataloader.dataset.pipeline == [dict(type='LoadImageFromFile')]


def test_auto_scale_lr():
    assert train_config(DET).auto_scale_lr.enable is False
    assert train_config(DET, auto_scale_lr=True).auto_scale_lr == dict(enable=True,
                                                                        base_batch_size=8)
    bad = repository_path('configs/ovshapes/declip_distill_ovshapes.py')
    with pytest.raises(ConfigError, match='--auto-scale-lr needs auto_scale_lr'):
        train_config(bad, auto_scale_lr=True, cfg_options={'auto_scale_lr': None})


def test_work_dir_defaults_to_the_config_name():
    assert train_config(DET).work_dir == os.path.join('./work_dirs', 'fvit_tiny-declip_ovshapes')
    assert test_config(DET, work_dir='w').work_dir == 'w'
