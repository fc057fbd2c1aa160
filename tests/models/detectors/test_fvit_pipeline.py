"""OV-COCO end to end through the real config: COCO -> OV split converter, tools/train.py
configs/ovcoco/declip_fvit.py on a tiny COCO tree (tiny DeCLIPViT via --cfg-options), then
tools/test.py reporting base / novel / all AP50; and the one-line error without data."""
import glob
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
CONFIG = os.path.join(ROOT, 'configs', 'ovcoco', 'declip_fvit.py')


def run_tool(*args: str, cwd: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run ``python ROOT/args[0] args[1:]`` in ``cwd``."""
    env = dict(os.environ, PYTHONPATH=ROOT, HF_HUB_OFFLINE='1', OMP_NUM_THREADS='2')
    tool, rest = os.path.join(ROOT, args[0]), args[1:]
    return subprocess.run([sys.executable, tool, *rest], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def flatten(prefix: str, value, top: bool = True) -> list:
    """``--cfg-options`` entries replacing ``prefix`` (a string in the config) by a dict."""
    if not isinstance(value, dict):
        return [f'{prefix}={value!r}'.replace(' ', '').replace("'", '')]
    out = [f'{prefix}._delete_=True'] if top else []
    for k, v in value.items():
        out += flatten(f'{prefix}.{k}', v, top=False)
    return out


def tiny_options(data_root: str, cache_dir: str) -> list:
    """Point the real OV-COCO config at the tiny tree and a tiny DeCLIP ViT (patch 8)."""
    from declip_mm.testing import TINY_EVA
    ann = os.path.join(data_root, 'zero-shot', 'instances_val2017_all_2.json')
    size = '(128,128)'
    opts = (flatten('model.backbone.arch', TINY_EVA)
            + flatten('model.text_encoder.arch', TINY_EVA)) + [
        'model.backbone.out_indices=(0,1,2,3)', 'model.backbone.init_cfg=None',
        'model.text_encoder.init_cfg=None', f'model.text_encoder.cache_dir={cache_dir}',
        'model.neck.0.in_channels=64', 'model.neck.1.in_channels=[64,64,64,64]',
        'model.rpn_head.anchor_generator.strides=[2,4,8,16,32]',
        'model.roi_head.bbox_roi_extractor.featmap_strides=[2,4,8,16]',
        'model.roi_head.vlm_roi_extractor.out_channels=32',
        'model.roi_head.vlm_roi_extractor.featmap_strides=[8]',
        'model.roi_head.bbox_head.embed_dim=32',
        # 32-channel FPN / heads and fewer RoIs: at 256 channels on stride-2 maps and 512 RoIs
        # one CPU step takes ~30 s
        'model.neck.1.out_channels=32', 'model.rpn_head.in_channels=32',
        'model.rpn_head.feat_channels=32', 'model.roi_head.bbox_roi_extractor.out_channels=32',
        'model.roi_head.bbox_head.in_channels=32', 'model.roi_head.bbox_head.conv_out_channels=32',
        'model.roi_head.bbox_head.fc_out_channels=32', 'model.train_cfg.rcnn.sampler.num=64',
        'model.train_cfg.rpn_proposal.max_per_img=100', 'model.test_cfg.rpn.max_per_img=100',
        'train_cfg.max_epochs=1', 'default_hooks.logger.interval=1', 'randomness.seed=0',
        'train_dataloader.batch_size=2',
        f'train_dataloader.dataset.pipeline.2.scale={size}',
        f'train_dataloader.dataset.pipeline.3.crop_size={size}',
        'model.data_preprocessor.pad_size_divisor=128',
        f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.num_workers=0', f'{loader}.persistent_workers=False',
                 f'{loader}.dataset.data_root={data_root}/']
    for loader in ('val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.dataset.pipeline.1.scale={size}']
    return opts


@pytest.fixture(scope='module')
def tiny_coco(tmp_path_factory):
    from declip_mm.testing.fvit import make_tiny_coco_tree
    root = str(tmp_path_factory.mktemp('ovcoco') / 'coco')
    make_tiny_coco_tree(root, num_train=4, num_val=2, size=96)
    proc = run_tool('tools/dataset_converters/coco2ov.py', root, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root


def test_converter_writes_the_ov_split(tiny_coco):
    from declip_mm.vocab import OV_COCO_BASE_CLASSES, ov_coco_classes
    with open(os.path.join(tiny_coco, 'zero-shot', 'instances_train2017_seen_2_65_cat.json')) as f:
        train = json.load(f)
    with open(os.path.join(tiny_coco, 'zero-shot', 'instances_val2017_all_2.json')) as f:
        val = json.load(f)
    for split in (train, val):
        assert tuple(c['name'] for c in split['categories']) == ov_coco_classes()
    names = {c['id']: c['name'] for c in train['categories']}
    assert {names[a['category_id']] for a in train['annotations']} == {'person', 'car'}
    assert all(names[a['category_id']] in OV_COCO_BASE_CLASSES for a in train['annotations'])
    assert len(train['images']) == 2  # the images holding only novel objects are dropped
    assert {names[a['category_id']] for a in val['annotations']} == {'person', 'car', 'dog',
                                                                      'cat'}


def cpu_config(tmp_path) -> str:
    """The real config with a plain fp32 optimiser wrapper (its fp16 one needs a GPU)."""
    path = str(tmp_path / 'declip_fvit_cpu.py')
    with open(path, 'w') as f:
        f.write(f"_base_ = {CONFIG!r}\n"
                "optim_wrapper = dict(_delete_=True, type='OptimWrapper', optimizer=dict("
                "type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.1), "
                "clip_grad=dict(max_norm=1.0, norm_type=2))\n")
    return path


def test_train_then_test_reports_base_novel_all_ap50(tiny_coco, tmp_path):
    opts = tiny_options(tiny_coco, str(tmp_path / 'text_cache'))
    work = str(tmp_path / 'work')
    config = cpu_config(tmp_path)
    proc = run_tool('tools/train.py', config, '--work-dir', work, '--cfg-options', *opts,
                    cwd=str(tmp_path))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert 'loss_cls' in out and 'coco/novel_ap50' in out
    assert 'text embeddings: computing' in out and 'text_cache' in out  # what and where
    ckpt = glob.glob(os.path.join(work, 'epoch_1.pth'))
    assert ckpt, os.listdir(work)
    proc = run_tool('tools/test.py', config, ckpt[0], '--work-dir', str(tmp_path / 'test'),
                    '--cfg-options', *opts, cwd=str(tmp_path))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    for key in ('coco/base_ap50', 'coco/novel_ap50', 'coco/bbox_mAP_50'):
        assert key in out, out[-3000:]
    assert glob.glob(str(tmp_path / 'text_cache' / '*.pt'))  # embeddings cached on disk


def test_missing_coco_gives_one_clear_error(tmp_path):
    """The main command, run where there is no data/coco, stops with one line naming the tree
    and the converter."""
    proc = run_tool('tools/train.py', CONFIG, cwd=str(tmp_path))
    assert proc.returncode == 1
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith('error:')]
    assert len(errors) == 1, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr
    for part in ('data/coco/train2017/', 'zero-shot/instances_train2017_seen_2_65_cat.json',
                 'python tools/dataset_converters/coco2ov.py data/coco/'):
        assert part in errors[0], errors[0]


def test_dataset_check_names_tree_and_converter(tmp_path):
    from declip_mm.datasets.ov_detection import DeCLIPOVCocoDataset, DeCLIPOVLVISDataset
    from declip_mm.utils.errors import DataError
    root = str(tmp_path / 'coco')
    with pytest.raises(DataError, match='OV-COCO data not found') as err:
        DeCLIPOVCocoDataset(data_root=root, ann_file='zero-shot/instances_val2017_all_2.json',
                            data_prefix=dict(img='val2017/'), pipeline=[])
    assert f'python tools/dataset_converters/coco2ov.py {root}/' in str(err.value)
    assert '\n' not in str(err.value)
    with pytest.raises(DataError, match='lvis2ov.py') as err:
        DeCLIPOVLVISDataset(data_root=root, ann_file='annotations/lvis_v1_val.json',
                            data_prefix=dict(img=''), pipeline=[])
    assert 'lvis_v1_train_norare.json' in str(err.value)


def test_lvis_converter_drops_rare_annotations_only():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'lvis2ov', os.path.join(ROOT, 'tools', 'dataset_converters', 'lvis2ov.py'))
    lvis2ov = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lvis2ov)
    lvis = dict(categories=[dict(id=1, name='a', frequency='f'), dict(id=2, name='b',
                                                                      frequency='r'),
                            dict(id=3, name='c', frequency='c')],
                images=[dict(id=1, neg_category_ids=[2, 3], not_exhaustive_category_ids=[2])],
                annotations=[dict(id=i, image_id=1, category_id=c)
                             for i, c in enumerate([1, 2, 3, 2], 1)])
    out = lvis2ov.drop_rare(lvis)
    assert [a['category_id'] for a in out['annotations']] == [1, 3]
    assert len(out['categories']) == 3 and len(lvis['annotations']) == 4  # input untouched
    assert out['images'][0]['neg_category_ids'] == [3]
    assert out['images'][0]['not_exhaustive_category_ids'] == []
