"""declip_mm.ovshapes (main job) helpers: the detectors are scored on exactly the scenes tested.

mmdet's CocoMetric scores every image of its ``ann_file``; evaluating the first ``n`` scenes of
a larger split against the whole file counted the other scenes' objects as missed (every AP
was divided by the ratio of the sizes). The main job and the ladder therefore evaluate
against a json of the first ``n`` scenes.
"""
import json
import os

from declip_mm.ovshapes import main_job
from declip_mm.ovshapes.data import first_scenes_annotations


def write_split(root, n_images):
    os.makedirs(root / 'test')
    coco = dict(images=[dict(id=i + 1, file_name=f'{i:06d}.png', width=64, height=64)
                        for i in range(n_images)],
                annotations=[dict(id=10 * i + k, image_id=i + 1, category_id=1,
                                  bbox=[0, 0, 8, 8], area=64, iscrowd=0)
                             for i in range(n_images) for k in range(2)],
                categories=[dict(id=1, name='red circle')])
    (root / 'test' / 'annotations.json').write_text(json.dumps(coco))


def test_first_scenes_annotations_trims_to_the_evaluated_scenes(tmp_path):
    write_split(tmp_path, 5)
    path = first_scenes_annotations(str(tmp_path), 'test', 3)
    assert os.path.basename(path) == 'annotations_first3.json'
    coco = json.loads(open(path).read())
    assert [im['id'] for im in coco['images']] == [1, 2, 3]
    assert sorted({a['image_id'] for a in coco['annotations']}) == [1, 2, 3]
    assert len(coco['annotations']) == 6 and coco['categories'][0]['name'] == 'red circle'
    # the whole file when it holds no more than n scenes
    full = str(tmp_path / 'test' / 'annotations.json')
    assert first_scenes_annotations(str(tmp_path), 'test', 5) == full
    assert first_scenes_annotations(str(tmp_path), 'test', 9) == full


def test_test_options_point_dataset_and_metric_at_the_same_file(tmp_path):
    write_split(tmp_path, 4)
    opts = main_job.data_options(str(tmp_path), 16, 2)['test']
    ann = opts['test_dataloader.dataset.ann_file']
    assert ann == opts['test_evaluator.ann_file'] and ann.endswith('annotations_first2.json')
    assert 'test_dataloader.dataset.indices' not in opts
