"""declip_mm.apis: init_model / inference_model and the mmdet / mmseg inferencer subclasses give
the numbers of a direct ``model.test_step`` on the same input (paths and arrays alike)."""
import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import Compose, pseudo_collate

from declip_mm.apis import inference_model, init_model, set_vocabulary
from declip_mm.apis.inference import test_pipeline_cfg
from declip_mm.datasets.ov_shapes import generate_scene, scene_rng
from declip_mm.utils.errors import ConfigError
from declip_mm.utils.package_paths import repository_path

DET = repository_path('configs/ovshapes/fvit_tiny-declip_ovshapes.py')
SEG = repository_path('configs/ovshapes/seg_training-free_tiny-declip_ovshapes.py')
RANDOM = {'model.backbone.init_cfg': None, 'model.text_encoder.init_cfg': None,
          'model.text_encoder.cache_dir': None}
WORDS = 'red circle,blue bar,green square; green box'


@pytest.fixture(scope='module')
def scene(tmp_path_factory):
    """An OV-Shapes test scene as a BGR array and as a PNG file."""
    image = np.ascontiguousarray(generate_scene(scene_rng(2, 3)).image[..., ::-1])
    path = str(tmp_path_factory.mktemp('apis') / 'scene.png')
    cv2.imwrite(path, image)
    return image, path


@pytest.fixture(scope='module')
def detector(tmp_path_factory):
    """A random-weight OV-Shapes F-ViT with a 3-class vocabulary, and its weights on disk."""
    torch.manual_seed(0)
    model = init_model(DET, vocabulary=WORDS, cfg_options=RANDOM, random_weights=True)
    path = str(tmp_path_factory.mktemp('apis_ckpt') / 'fvit.pth')
    torch.save({'state_dict': model.state_dict()}, path)
    return model, path


def direct_test_step(model, path):
    """``model.test_step`` on the config's own test pipeline (annotations dropped)."""
    data = Compose(test_pipeline_cfg(model.cfg))(dict(img_path=path, img_id=0))
    with torch.no_grad():
        return model.test_step(pseudo_collate([data]))[0]


def test_vocabulary_is_resolved_once_and_recorded(detector):
    model, _ = detector
    assert model.dataset_meta['classes'] == ('red circle', 'blue bar', 'green square; green box')
    assert len(model.dataset_meta['palette']) == 3
    with pytest.raises(ConfigError, match='vocabulary is empty'):
        set_vocabulary(model, ' , ')


def test_detector_scores_equal_a_direct_test_step_for_paths_and_arrays(detector, scene):
    model, _ = detector
    image, path = scene
    want = direct_test_step(model, path).pred_instances
    assert len(want.scores) > 0 and int(want.labels.max()) <= 2
    for got in inference_model(model, [path, image]):
        torch.testing.assert_close(got.pred_instances.scores, want.scores, rtol=0, atol=0)
        torch.testing.assert_close(got.pred_instances.bboxes, want.bboxes, rtol=0, atol=0)
        assert torch.equal(got.pred_instances.labels, want.labels)


def test_det_inferencer_gives_the_same_detections(detector, scene, tmp_path):
    from declip_mm.apis.inferencers import DeCLIPDetInferencer
    model, ckpt = detector
    image, path = scene
    want = direct_test_step(model, path).pred_instances
    infer = DeCLIPDetInferencer(DET, ckpt, vocabulary=WORDS, show_progress=False)
    assert infer.model.dataset_meta['classes'] == model.dataset_meta['classes']
    for item in (path, image):
        got = infer(item, return_datasamples=True, no_save_vis=True)['predictions'][0]
        torch.testing.assert_close(got.pred_instances.scores, want.scores, rtol=0, atol=0)
        torch.testing.assert_close(got.pred_instances.bboxes, want.bboxes, rtol=0, atol=0)
    out = infer(path, out_dir=str(tmp_path), pred_score_thr=0.0)  # stock drawing: a picture
    assert out['predictions'][0]['labels'] == want.labels.tolist()
    assert cv2.imread(str(tmp_path / 'vis' / 'scene.png')).shape == (64, 64, 3)


def test_seg_inferencer_gives_the_same_masks(scene, tmp_path):
    """The training-free segmentor on the shipped tiny CLIP (its init_cfg, no checkpoint)."""
    from declip_mm.apis.inferencers import DeCLIPSegInferencer
    image, path = scene
    model = init_model(SEG, vocabulary=WORDS)
    want = direct_test_step(model, path)
    assert want.seg_logits.data.shape[0] == 3 and want.pred_sem_seg.data.unique().numel() > 1
    got = inference_model(model, [image])[0]
    torch.testing.assert_close(got.seg_logits.data, want.seg_logits.data, rtol=0, atol=0)
    infer = DeCLIPSegInferencer(SEG, vocabulary=WORDS)
    assert infer.visualizer.dataset_meta['classes'] == list(model.dataset_meta['classes'])
    got = infer(path, return_datasamples=True)  # mmseg: one input, one data sample
    torch.testing.assert_close(got.seg_logits.data, want.seg_logits.data, rtol=0, atol=0)
    assert torch.equal(got.pred_sem_seg.data, want.pred_sem_seg.data)
