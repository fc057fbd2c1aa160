"""declip_mm.vocab.names: the one resolver of vocabulary specs and the one synonym rule."""
import json

import pytest

from declip_mm.utils.errors import ConfigError
from declip_mm.vocab import (LVIS_V1_RARE_CLASSES, OV_COCO_BASE_CLASSES, OV_COCO_NOVEL_CLASSES,
                             builtin_class_files, builtin_vocabularies, check_vocabulary,
                             entry_key, lvis_v1_base_classes, ov_coco_classes,
                             resolve_vocabulary, split_synonyms)


def test_synonym_rule():
    assert split_synonyms('person; man') == ['person', 'man']
    assert split_synonyms('person;man ;; ') == ['person', 'man']
    assert split_synonyms(['dog', ' puppy ', '']) == ['dog', 'puppy']
    assert split_synonyms('traffic_light') == ['traffic light']
    assert split_synonyms('t-shirt') == ['t-shirt']
    # ', ' is not a synonym separator (it separates classes in comma lists)
    assert split_synonyms('cup, mug') == ['cup, mug']
    assert entry_key(['Traffic_Light', 'stoplight']) == 'traffic light'
    assert check_vocabulary(['cat', 'dog; puppy', ('bus', 'coach')]) == \
        [['cat'], ['dog', 'puppy'], ['bus', 'coach']]
    for bad, match in [([], 'empty'), (None, 'empty'), (['cat', 'Cat'], 'duplicated'),
                       (['cat', ' ; '], 'empty class name'), (['', 'dog'], 'empty class name')]:
        with pytest.raises(ConfigError, match=match):
            check_vocabulary(bad)


def test_detection_builtins():
    assert len(OV_COCO_BASE_CLASSES) == 48 and len(OV_COCO_NOVEL_CLASSES) == 17
    all65 = ov_coco_classes()
    assert len(all65) == 65 and set(all65) == set(OV_COCO_BASE_CLASSES + OV_COCO_NOVEL_CLASSES)
    assert all65[:6] == ('person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus')
    assert len(LVIS_V1_RARE_CLASSES) == 337 and len(set(LVIS_V1_RARE_CLASSES)) == 337
    assert len(lvis_v1_base_classes()) == 1203 - 337
    sizes = dict(coco=80, ov_coco=65, ov_coco_base=48, ov_coco_novel=17, lvis_v1=1203,
                 lvis_v1_base=866, lvis_v1_rare=337)
    for name, n in sizes.items():
        assert len(resolve_vocabulary(name)) == n, name
    assert resolve_vocabulary('coco')[-1] == 'toothbrush'
    assert set(sizes) | set(builtin_class_files()) == set(builtin_vocabularies())


def test_shipped_class_files_resolve_and_follow_the_synonym_rule():
    for name in builtin_class_files():
        entries = resolve_vocabulary(name)
        assert all(isinstance(e, str) and e == e.strip() for e in entries), name
        if name != 'catseg_ade847':   # ADE-847 has distinct classes sharing a name
            check_vocabulary(entries)
    # ClearCLIP's training-free lists (mc-lan/ClearCLIP configs/cls_*.txt)
    voc21, coco_object = resolve_vocabulary('voc21'), resolve_vocabulary('coco_object')
    assert voc21[0] == 'background' and voc21[15] == 'person' and voc21[20] == 'tvmonitor'
    assert coco_object[:2] == ['background', 'person'] and len(coco_object) == 81
    assert resolve_vocabulary('voc20') == voc21[1:]
    assert resolve_vocabulary('sclip_voc21')[0].startswith('sky; wall; tree')


def test_files(tmp_path):
    txt = tmp_path / 'names.txt'
    txt.write_text('red box\n\n# comment\nblue box; azure box\n')
    assert resolve_vocabulary(str(txt)) == ['red box', 'blue box; azure box']
    js = tmp_path / 'names.json'
    js.write_text(json.dumps({'classes': ['a', ['b', 'bee']]}))
    assert resolve_vocabulary(str(js)) == ['a', ['b', 'bee']]
    js.write_text(json.dumps(['x', 'y']))
    assert resolve_vocabulary(str(js)) == ['x', 'y']


@pytest.mark.parametrize('content, match', [
    ('\n# only a comment\n', 'is empty'),
    ('{"classes": [1, 2]}', 'expected a JSON list'),
    ('["a", ', 'not valid JSON'),
])
def test_bad_files_one_line_naming_the_file(tmp_path, content, match):
    suffix = '.txt' if content.startswith('\n') else '.json'
    path = tmp_path / f'bad{suffix}'
    path.write_text(content)
    with pytest.raises(ConfigError, match=match) as info:
        resolve_vocabulary(str(path))
    assert str(path) in str(info.value) and '\n' not in str(info.value)


def test_strings_lists_and_errors(tmp_path):
    assert resolve_vocabulary(' cat, red car,,kitten; cat ') == ['cat', 'red car', 'kitten; cat']
    assert resolve_vocabulary(['cat ', ['dog', 'puppy']]) == ['cat', ['dog', 'puppy']]
    assert resolve_vocabulary('cat', free_text=True) == ['cat']
    assert len(resolve_vocabulary('coco', free_text=True)) == 80   # builtin names win
    with pytest.raises(ConfigError, match='unknown vocabulary'):
        resolve_vocabulary('coco_typo')
    with pytest.raises(ConfigError, match='class names file not found'):
        resolve_vocabulary(str(tmp_path / 'missing.txt'))
    with pytest.raises(ConfigError, match='class names file not found'):
        resolve_vocabulary(str(tmp_path / 'missing_dir' / 'names'))
    for empty in ([], None, ' , '):
        with pytest.raises(ConfigError, match='empty'):
            resolve_vocabulary(empty)
    with pytest.raises(ConfigError, match='empty class name'):
        resolve_vocabulary(['cat', ' '])
