"""Packaging as OpenMMLab projects do it (issue 18.8): one version string with a compatibility
check, mminstall.txt and run-time requirements, configs and tools under declip_mm/.mim, the
``declip_mm`` registry scope and portable saved configs (mmdet's tool flags:
tests/apis/test_entry_configs.py)."""
import importlib.util
import os
import re
import shutil
import subprocess
import sys

import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(code: str, cwd: str = ROOT, extra_path: str = '') -> subprocess.CompletedProcess:
    path = os.pathsep.join(p for p in (extra_path, ROOT) if p)
    env = dict(os.environ, PYTHONPATH=path, HF_HUB_OFFLINE='1', OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, '-c', code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def load_module(name: str, path: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def requirement_lines(name: str) -> list:
    text = open(os.path.join(ROOT, 'requirements', f'{name}.txt')).read().splitlines()
    return [ln.strip() for ln in text if ln.strip() and not ln.lstrip().startswith('#')]


# --------------------------------------------------------------------------- version
def test_one_version_string():
    import declip_mm
    from declip_mm import version
    setup = load_module('declip_setup', os.path.join(ROOT, 'setup.py'))
    assert declip_mm.__version__ == version.__version__ == setup.read_version()
    assert re.fullmatch(r'\d+\.\d+\.\d+', version.__version__)
    assert not re.search(r"version\s*=\s*'\d", open(os.path.join(ROOT, 'setup.py')).read())


def test_mminstall_lists_the_checked_ranges():
    from declip_mm.version import MM_REQUIREMENTS, requirement_line
    assert requirement_lines('mminstall') == [requirement_line(d, lo, hi)
                                              for _, d, lo, hi in MM_REQUIREMENTS]
    runtime = ' '.join(requirement_lines('runtime'))
    assert 'scikit-image' in runtime and 'lvis' in runtime and 'mmdet' not in runtime
    assert not [ln for ln in requirement_lines('tests') if ln.startswith(('scikit', 'lvis'))]


def test_version_check_names_installed_and_required_versions():
    from declip_mm.version import check_mm_versions, incompatibilities
    ok = {'mmengine': '0.10.7', 'mmcv': '2.1.0', 'mmdet': '3.3.0', 'mmseg': '1.2.2'}
    assert incompatibilities(ok) == []
    assert incompatibilities(dict(ok, mmcv='2.0.0rc4')) == []
    assert incompatibilities(dict(ok, mmcv='2.0.0rc3')) == [
        'mmcv 2.0.0rc3 is installed, 2.0.0rc4 <= version < 2.2.0 is required']
    with pytest.raises(ImportError) as err:
        check_mm_versions(dict(ok, mmcv='2.2.0', mmseg=None))
    message = str(err.value)
    assert '\n' not in message
    assert 'mmcv 2.2.0 is installed, 2.0.0rc4 <= version < 2.2.0 is required' in message
    assert 'mmsegmentation is not installed (mmsegmentation>=1.2.2,<1.3.0 is required)' in message
    check_mm_versions()  # the installed stack fits


def test_import_stops_at_an_incompatible_mmdet(tmp_path):
    """A (fake) mmdet 3.2.0 distribution first on the path: ``import declip_mm`` fails with
    the one line, before mmdet itself is imported."""
    info = tmp_path / 'mmdet-3.2.0.dist-info'
    info.mkdir()
    (info / 'METADATA').write_text('Metadata-Version: 2.1\nName: mmdet\nVersion: 3.2.0\n')
    out = run_python('import sys\ntry:\n    import declip_mm\nexcept ImportError as e:\n'
                     '    print(e); print("mmdet" in sys.modules)', extra_path=str(tmp_path))
    lines = out.stdout.strip().splitlines()
    assert lines[-1] == 'False', out.stdout + out.stderr
    assert lines[0].startswith('declip_mm 0.1.0: mmdet 3.2.0 is installed, 3.3.0 <= version '
                               '< 3.4.0 is required.'), lines
    assert 'mim install' in lines[0]


# --------------------------------------------------------------------------- wheel / .mim
def test_mim_files_are_copied_or_linked(tmp_path):
    setup = load_module('declip_setup', os.path.join(ROOT, 'setup.py'))
    copied = setup.place_mim_files(tmp_path / 'wheel' / 'declip_mm', link=False)
    mim = tmp_path / 'wheel' / 'declip_mm' / '.mim'
    assert sorted(p.name for p in copied) == ['configs', 'tools']
    assert (mim / 'configs' / 'ovshapes' / 'fvit_tiny-declip_ovshapes.py').is_file()
    assert (mim / 'tools' / 'train.py').is_file() and (mim / 'tools' / 'dist_train.sh').is_file()
    assert not list(mim.rglob('__pycache__'))
    linked = setup.place_mim_files(tmp_path / 'src' / 'declip_mm', link=True)
    for path in linked:
        assert path.is_symlink() and not os.path.isabs(os.readlink(path))
        assert path.resolve() == __import__('pathlib').Path(ROOT, path.name).resolve()


def test_wheel_ships_configs_tools_assets_and_requirements(tmp_path):
    """``pip wheel .`` (about 4 s) on a copy of the repository: the wheel holds .mim/configs,
    .mim/tools, the assets and data files; its metadata has the run-time requirements and the
    OpenMMLab ranges as the ``mim`` extra."""
    import zipfile
    src = tmp_path / 'src'
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        '.git', 'data', 'outputs', 'work_dirs', 'build', 'dist', '*.egg-info', '__pycache__',
        '.mim'))
    out = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
                          '--no-build-isolation', '.', '-w', str(tmp_path / 'dist')], cwd=src,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    from declip_mm.version import __version__
    wheel = zipfile.ZipFile(tmp_path / 'dist' / f'declip_mm-{__version__}-py3-none-any.whl')
    names = set(wheel.namelist())
    for rel in ('version.py', '.mim/configs/ovcoco/declip_fvit.py',
                '.mim/configs/ovshapes/fvit_tiny-declip_ovshapes.py', '.mim/tools/test.py',
                '.mim/tools/train.py', '.mim/tools/dist_test.sh', 'assets/ovshapes/tiny_clip.pt',
                'assets/ovshapes/tiny_declip.pt', 'vocab/class_names/ade150.txt'):
        assert f'declip_mm/{rel}' in names, rel
    assert not [n for n in names if '__pycache__' in n or n.startswith('tests/')]
    meta = wheel.read(f'declip_mm-{__version__}.dist-info/METADATA').decode()
    assert 'Requires-Dist: scikit-image>=0.22' in meta and 'Requires-Dist: lvis>=0.5.3' in meta
    assert re.search(r'Requires-Dist: mmdet<3.4.0,>=3.3.0; extra == "mim"', meta)
    assert not (src / 'declip_mm' / '.mim').exists()  # a wheel build leaves the tree alone
    manifest = open(os.path.join(ROOT, 'MANIFEST.in')).read()
    assert 'include requirements/*.txt' in manifest  # setup.py reads them from an sdist


# --------------------------------------------------------------------------- registry scope
def build(scope: str, cfg: dict):
    import declip_mm  # noqa: F401
    from mmengine.registry import MODELS, DefaultScope
    with DefaultScope.overwrite_default_scope(scope):
        torch.manual_seed(0)
        return MODELS.build(cfg)


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg', 'mmengine'])
def test_scoped_and_unscoped_names_build_the_same_backbone(scope, tiny_vit):
    from declip_mm.models.backbones.declip_vit import DeCLIPViT
    plain = build(scope, dict(type='DeCLIPViT', arch=tiny_vit, out_indices=(3,)))
    scoped = build(scope, dict(type='declip_mm.DeCLIPViT', arch=tiny_vit, out_indices=(3,)))
    assert type(plain) is type(scoped) is DeCLIPViT
    x = torch.randn(1, 3, 32, 32)
    torch.testing.assert_close(plain(x)[0], scoped(x)[0], rtol=0, atol=0)


def test_scope_reaches_task_components_of_its_library():
    import declip_mm  # noqa: F401
    import mmdet.registry as det
    import mmseg.registry as seg
    from mmengine.registry import MODELS as ROOT_MODELS
    assert det.MODELS.get('declip_mm.DeCLIPFViT').__name__ == 'DeCLIPFViT'
    assert seg.MODELS.get('declip_mm.DeCLIPTrainingFreeSegmentor') is \
        seg.MODELS.get('DeCLIPTrainingFreeSegmentor')
    assert seg.DATASETS.get('declip_mm.OVShapesSegDataset').__name__ == 'OVShapesSegDataset'
    assert det.TRANSFORMS.get('declip_mm.DeCLIPLoadImageFromFile') is not None
    assert det.HOOKS.get('declip_mm.DeCLIPEnsembleCheckpointHook') is not None
    assert det.PARAM_SCHEDULERS.get('declip_mm.DeCLIPCosineAfterWarmupLR') is not None
    assert seg.OPTIM_WRAPPER_CONSTRUCTORS.get(
        'declip_mm.DeCLIPDistillOptimWrapperConstructor') is not None
    assert seg.MODELS.get('declip_mm.DeCLIPFViT') is None  # a detector is not an mmseg type
    from declip_mm.registry import SCOPED_REGISTRIES
    assert all(not r._module_dict for r in SCOPED_REGISTRIES.values())  # registered once
    assert 'DeCLIPViT' in ROOT_MODELS._module_dict


@pytest.mark.parametrize('config', ['tiny_det.py', 'tiny_seg.py'])
def test_scoped_names_in_mmdet_and_mmseg_configs(config):
    """The test configs (a stock Faster R-CNN / EncoderDecoder with a tiny DeCLIPViT) with
    ``declip_mm.DeCLIPViT``: the model builds and computes what the unscoped one does."""
    from mmengine.config import Config
    cfg = Config.fromfile(os.path.join(ROOT, 'tests', 'configs', config))
    plain = build(cfg.default_scope, cfg.model.copy())
    cfg.model.backbone.type = 'declip_mm.DeCLIPViT'
    scoped = build(cfg.default_scope, cfg.model.copy())
    x = torch.randn(1, 3, 64, 64)
    torch.testing.assert_close(plain.extract_feat(x)[0], scoped.extract_feat(x)[0])


def test_scoped_name_needs_no_custom_imports():
    """A fresh interpreter, declip_mm not imported: mmengine imports it for the scope."""
    code = ("from mmengine.registry import init_default_scope\nimport mmdet.registry as r\n"
            "init_default_scope('mmdet')\n"
            "arch = dict(embed_dim=32, text_cfg=dict(width=32, heads=2, layers=1),\n"
            "            vision_cfg=dict(image_size=32, layers=2, width=64, head_width=16,\n"
            "                            patch_size=8))\n"
            "m = r.MODELS.build(dict(type='declip_mm.DeCLIPViT', arch=arch, out_indices=(1,)))\n"
            "print(type(m).__module__)")
    out = run_python(code)
    assert out.stdout.strip().splitlines()[-1:] == ['declip_mm.models.backbones.declip_vit'], \
        out.stderr[-3000:]


# --------------------------------------------------------------------------- portable configs
SHIPPED = sorted(os.path.relpath(os.path.join(d, f), ROOT)
                 for d, _, files in os.walk(os.path.join(ROOT, 'configs')) for f in files
                 if f.endswith('.py') and '_base_' not in d)


@pytest.mark.parametrize('config', [c for c in SHIPPED if 'ovshapes' in c]
                         + ['configs/ovcoco/declip_fvit.py',
                            'configs/declip/declip_tiny-eva_tiny-dinov2_1xb2-6e_skimage.py',
                            'configs/segmentation/training_free/declip_eva02-b16_slide_voc21.py'])
def test_saved_config_is_portable(config, tmp_path):
    """``Config.dump`` of a shipped config names no folder of this machine and carries no
    imported constants (UPPER_CASE top-level names)."""
    from mmengine.config import Config
    cfg = Config.fromfile(os.path.join(ROOT, config))
    dumped = tmp_path / 'dumped.py'
    cfg.dump(str(dumped))
    text = dumped.read_text()
    for machine in {ROOT, os.path.dirname(ROOT), os.path.expanduser('~'), '/work/'}:
        assert machine not in text, f'{config}: dump holds {machine}'
    assert not [k for k in cfg.keys() if re.fullmatch(r'[A-Z][A-Z0-9_]+', k)], config


def test_dumped_ovshapes_config_loads_the_shipped_weights_elsewhere(tmp_path, monkeypatch):
    """The dump of the main job's config, loaded from another folder, builds the detector and
    reads the tiny DeCLIP encoder from the package (``declip_mm://assets/...``)."""
    from mmengine.config import Config

    from declip_mm.utils.package_paths import PACKAGE_DIR, resolve_package_path
    cfg = Config.fromfile(os.path.join(ROOT, 'configs/ovshapes/fvit_tiny-declip_ovshapes.py'))
    cfg.dump(str(tmp_path / 'saved.py'))
    monkeypatch.chdir(tmp_path)
    saved = Config.fromfile('saved.py')
    ckpt = saved.model.backbone.init_cfg.checkpoint
    assert ckpt == 'declip_mm://assets/ovshapes/tiny_declip.pt'
    assert resolve_package_path(ckpt) == os.path.join(PACKAGE_DIR, 'assets', 'ovshapes',
                                                      'tiny_declip.pt')
    model = build('mmdet', saved.model.backbone.copy())
    model.init_weights()
    state = torch.load(resolve_package_path(ckpt), map_location='cpu', weights_only=True)
    state = state.get('state_dict', state)
    key = next(k for k in state if k.endswith('conv1.weight'))
    own = dict(model.state_dict())
    mine = next(v for k, v in own.items() if k.endswith('conv1.weight'))
    torch.testing.assert_close(mine, state[key].to(mine.dtype), rtol=0, atol=0)
    assert mine.abs().sum() > 0
