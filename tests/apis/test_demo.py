"""tools/demo.py and declip_mm.apis.demo: words in, pictures out, for a detector and the
training-free segmentor.

The models are the OV-Shapes configs with tiny random weights (``init_cfg=None``): the checks
are on the pictures (a valid PNG of the input's size, drawn pixels changed, the legend's
colours) and on the small helpers (hand-computed cases)."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from declip_mm.apis import visualize
from declip_mm.apis.demo import demo

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RANDOM_WEIGHTS = ['model.backbone.init_cfg=None', 'model.text_encoder.init_cfg=None']


@pytest.fixture(scope='module')
def photo(tmp_path_factory) -> str:
    """chelsea (451 x 300, an odd size) written as a PNG."""
    import cv2
    from skimage import data
    path = str(tmp_path_factory.mktemp('demo_in') / 'chelsea.png')
    cv2.imwrite(path, data.chelsea()[..., ::-1])
    return path


def load_cfg(name: str, options=()):
    from mmengine.config import Config
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'ovshapes', name))
    pairs = (o.split('=', 1) for o in options)
    cfg.merge_from_dict({k: None if v == 'None' else v for k, v in pairs})
    return cfg


def changed_fraction(a: np.ndarray, b: np.ndarray) -> float:
    return float((np.abs(a.astype(int) - b.astype(int)).max(-1) > 0).mean())


# ---------------------------------------------------------------------------- helpers
def test_draw_factor_and_enlarge():
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    assert visualize.draw_factor(64, 64, 256) == 4
    assert visualize.draw_factor(50, 100, 256) == 6   # ceil(256 / 50)
    assert visualize.draw_factor(300, 451, 256) == 1
    assert visualize.draw_factor(64, 64, 0) == 1
    sample = DetDataSample(pred_instances=InstanceData(bboxes=torch.tensor([[1., 2., 3., 4.]])))
    image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    big, sample = visualize.enlarge(image, sample, 2, 'mmdet')
    assert big.shape == (4, 6, 3) and (big[1, 3] == image[0, 1]).all()
    assert sample.pred_instances.bboxes.tolist() == [[2., 4., 6., 8.]]


def test_unpaint_low_scores():
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    scores = torch.tensor([[[0.9, 0.2]], [[0.1, 0.3]]])      # 2 classes, 1 x 2 pixels
    sample = SegDataSample(seg_logits=PixelData(data=scores),
                           pred_sem_seg=PixelData(data=torch.tensor([[[0, 1]]])))
    out = visualize.unpaint_low_scores(sample, 0.5)
    assert out.pred_sem_seg.data.tolist() == [[[0, 255]]]   # best score 0.3 < 0.5


# ---------------------------------------------------------------------------- pictures
def test_detection_demo_draws_boxes_on_an_image_of_the_input_size(photo, tmp_path):
    import cv2
    cfg = load_cfg('fvit_tiny-declip_ovshapes.py',
                   RANDOM_WEIGHTS + ['model.text_encoder.cache_dir=None'])
    torch.manual_seed(0)
    outs = demo([photo], ['cat', 'red circle', 'blue bar'], cfg, None, str(tmp_path),
                     score_thr=0.0, random_weights=True)
    assert outs == [str(tmp_path / 'chelsea.png')]
    drawn, original = cv2.imread(outs[0]), cv2.imread(photo)
    assert drawn is not None and drawn.shape == original.shape == (300, 451, 3)
    frac = changed_fraction(drawn, original)
    assert 0.002 < frac < 0.9, frac   # box outlines and labels, the photo elsewhere


def test_segmentation_demo_paints_masks_and_a_legend(photo, tmp_path):
    """Training-free: words in, mask picture out, no training; the legend swatches carry the
    colours of the words found."""
    import cv2
    cfg = load_cfg('seg_training-free_tiny-declip_ovshapes.py', RANDOM_WEIGHTS)
    words = ['cat', 'sofa', 'wall']
    torch.manual_seed(0)
    out = demo([photo], words, cfg, None, str(tmp_path), random_weights=True)[0]
    drawn = cv2.imread(out)[..., ::-1]
    original = cv2.imread(photo)[..., ::-1]
    assert drawn.shape == original.shape
    assert changed_fraction(drawn, original) > 0.9   # every pixel is painted (no threshold)
    # legend rows: swatches at x in [row/4, row*2/3), one row per word found
    row = max(8, int(round(22 * max(0.3, 300 / 450.0))))
    swatch = drawn[row // 6 + row // 6 + 2, row // 4 + 2]
    assert min(np.abs(swatch.astype(int) - np.array(c)).max()
               for c in visualize.distinct_colours(len(words))) <= 2


def test_demo_command_line(tmp_path):
    """The CLI on a 64 px OV-Shapes scene with the shipped tiny DeCLIP / CLIP (the config's
    init_cfg): the picture is drawn 4x larger (--draw-size 256)."""
    import cv2
    from declip_mm.datasets.ov_shapes import generate_scene, scene_rng
    scene = generate_scene(scene_rng(2, 0))
    path = str(tmp_path / 'scene.png')
    cv2.imwrite(path, scene.image[..., ::-1])
    env = dict(os.environ, PYTHONPATH=ROOT, HF_HUB_OFFLINE='1', OMP_WAIT_POLICY='PASSIVE')
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, 'tools', 'demo.py'), path,
         '--words', 'red circle,blue bar, green square',
         '--config', os.path.join(ROOT, 'configs', 'ovshapes',
                                  'seg_training-free_tiny-declip_ovshapes.py'),
         '--out-dir', str(tmp_path / 'out'), '--draw-size', '256', '--seg-thr', '0.2'],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout.strip().splitlines()[-1]
    assert out == str(tmp_path / 'out' / 'scene.png')
    drawn = cv2.imread(out)
    assert drawn.shape == (256, 256, 3)
    big = np.repeat(np.repeat(scene.image[..., ::-1], 4, 0), 4, 1)
    assert 0.0 < changed_fraction(drawn, big) <= 1.0


def test_demo_errors_are_one_line(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT, HF_HUB_OFFLINE='1')
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, 'tools', 'demo.py'), str(tmp_path / 'none.png'),
         '--words', ' , ', '--config',
         os.path.join(ROOT, 'configs', 'ovshapes', 'fvit_tiny-declip_ovshapes.py')],
        env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith('error: --words')
    assert 'Traceback' not in proc.stderr


def test_main_job_smoke(tmp_path):
    """tools/ovshapes/main_job.py end to end at toy size: data, train, test (+ --show-dir),
    pictures, metrics.json (the README's first command runs it at full size)."""
    import json
    from declip_mm.datasets.ov_shapes.arch import TINY_CLIP_CHECKPOINT
    if not os.path.isfile(TINY_CLIP_CHECKPOINT):
        pytest.skip('the shipped tiny CLIP is not there yet')
    env = dict(os.environ, PYTHONPATH=ROOT, HF_HUB_OFFLINE='1', OMP_WAIT_POLICY='PASSIVE')
    out = tmp_path / 'out'
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, 'tools', 'ovshapes', 'main_job.py'),
         '--out', str(out), '--data-root', str(tmp_path / 'data'), '--iters', '2',
         '--train-scenes', '16', '--test-scenes', '8', '--pictures', '1', '--show-scenes', '2',
         '--baseline', 'never'],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert '| declip_csa |' in proc.stdout and 'training F-ViT (declip_csa)' in proc.stdout
    metrics = json.loads((out / 'metrics.json').read_text())
    row = metrics['results']['declip_csa']
    assert 0.0 <= row['base_ap50'] <= 1.0 and 0.0 <= row['novel_ap50'] <= 1.0
    assert metrics['results']['clip_vanilla'] == {'skipped': '--baseline never'}
    assert len(metrics['pictures']) == 2 and all(os.path.isfile(p) for p in metrics['pictures'])
    assert sorted(os.listdir(out / 'declip_csa' / 'vis')) == ['000000.png', '000001.png']


def run_demo(tmp_path, *extra):
    import cv2
    from declip_mm.datasets.ov_shapes import generate_scene, scene_rng
    path = str(tmp_path / 'scene.png')
    cv2.imwrite(path, generate_scene(scene_rng(2, 0)).image[..., ::-1])
    env = dict(os.environ, PYTHONPATH=ROOT, HF_HUB_OFFLINE='1', OMP_WAIT_POLICY='PASSIVE')
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, 'tools', 'demo.py'), path, '--words', 'red circle',
         '--config', os.path.join(ROOT, 'configs', 'ovshapes',
                                  'seg_training-free_tiny-declip_ovshapes.py'),
         '--out-dir', str(tmp_path / 'out'), *extra],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize('name', ['tiny_clip.pt', 'tiny_declip.pt'])
def test_demo_loads_the_shipped_checkpoints_strictly(tmp_path, name):
    """--checkpoint with the shipped files (was "'dict' object has no attribute '_metadata'")."""
    proc = run_demo(tmp_path, '--checkpoint',
                    os.path.join(ROOT, 'declip_mm', 'assets', 'ovshapes', name))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == str(tmp_path / 'out' / 'scene.png')


@pytest.mark.parametrize('kind', ['empty', 'text', 'truncated', 'wrong', 'no weights'])
def test_demo_bad_weights_are_one_line(tmp_path, kind):
    """A wrong file, or no weights at all, is one error line and exit 1 (no picture)."""
    bad = tmp_path / (kind.replace(' ', '_') + '.pth')
    shipped = os.path.join(ROOT, 'declip_mm', 'assets', 'ovshapes', 'tiny_vfm.pt')
    if kind == 'empty':
        bad.write_bytes(b'')
    elif kind == 'text':
        bad.write_text('not a checkpoint\n' * 50)
    elif kind == 'truncated':
        with open(shipped, 'rb') as f:
            bad.write_bytes(f.read()[:4000])
    elif kind == 'wrong':
        torch.save({'state_dict': {'backbone.visual.conv1.weight': torch.zeros(1)}}, bad)
    args = ['--cfg-options', 'model.backbone.init_cfg=None'] if kind == 'no weights' else \
        ['--checkpoint', str(bad)]
    proc = run_demo(tmp_path, *args)
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith('error: ') and (kind == 'no weights' or str(bad) in last), last
    assert not (tmp_path / 'out' / 'scene.png').exists()
