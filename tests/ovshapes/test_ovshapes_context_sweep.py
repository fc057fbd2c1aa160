"""The context sweep's tables: rows over seeds, gains paired by seed, and sweeps run in parts
merged (no training here)."""
import copy
import json
import os

import pytest

from declip_mm.ovshapes.context_sweep import (KEYS, markdown, merge, merge_folders,
                                              paired_gains, run_name)


def _run(teacher, weight, seed, acc, miou):
    probe = {k: 50.0 for k in KEYS}
    probe.update(all=acc, miou=miou)
    return dict(teacher=teacher, weight=weight, seed=seed, probe=probe, distill_s=100.0)


@pytest.fixture
def res():
    runs = [_run('none', 0.0, 0, 20.0, 10.0), _run('none', 0.0, 1, 22.0, 11.0),
            _run('gt', 0.25, 0, 23.0, 12.5), _run('gt', 0.25, 1, 24.0, 12.5),
            _run('gt', 1.0, 2, 30.0, 15.0)]  # seed 2 has no content-only run: no pair
    return dict(world='128', runs={run_name(r['teacher'], r['weight'], r['seed']): r
                                   for r in runs})


def test_paired_gains_subtract_the_same_seed(res):
    gains = paired_gains(res, 'gt', 0.25)
    assert sorted(gains['all']) == [2.0, 3.0]
    assert sorted(gains['miou']) == [1.5, 2.5]
    assert paired_gains(res, 'gt', 1.0)['all'] == []


def test_markdown_rows_and_gain_table(res):
    text = markdown(res)
    assert text.startswith('World: 128 px.')
    assert '| gt | 0.25 | 0,1 | 23.5 ± 0.7 |' in text
    assert '| none | 0 | 0,1 | 21.0 ± 1.4 |' in text
    gain_rows = [line for line in text.splitlines() if line.startswith('| gt | 0.25 | 2 |')]
    assert gain_rows == ['| gt | 0.25 | 2 | +2.5 ± 0.7 | +0.0 ± 0.0 | +0.0 ± 0.0 | '
                         '+2.0 ± 0.7 | +0.0 ± 0.0 | +0.0 ± 0.0 | +0.0 ± 0.0 |']
    assert '| gt | 1 | 1 |' not in text  # unpaired weight: no gain row


def test_merge_joins_parts_and_keeps_the_first_teacher_aucs(res):
    names = sorted(res['runs'])
    part_a = dict(world='128', teacher_auc={'gt': 99.9},
                  runs={n: res['runs'][n] for n in names[:2]})
    part_b = dict(world='128', teacher_auc={'gt': 1.0},
                  runs={n: res['runs'][n] for n in names[1:]})
    merged = merge([part_a, part_b], ['a', 'b'])
    assert merged['runs'] == res['runs'] and merged['teacher_auc'] == {'gt': 99.9}
    assert markdown(merged) == markdown(res) + '\n\nTeacher affinity AUC (%): gt 99.9'


def test_merge_refuses_other_worlds_and_conflicting_runs(res):
    other = dict(res, world='64')
    with pytest.raises(ValueError, match='a: 128 px, b: 64 px'):
        merge([res, other], ['a', 'b'])
    changed = copy.deepcopy(res)
    changed['runs']['gt_w0.25_s0']['probe']['all'] += 1
    with pytest.raises(ValueError, match='run gt_w0.25_s0 differs between a and b'):
        merge([res, changed], ['a', 'b'])


def test_merge_folders_reads_and_writes_sweep_json(res, tmp_path):
    names = sorted(res['runs'])
    for i, part in enumerate((names[:3], names[3:])):
        os.makedirs(tmp_path / f'p{i}')
        (tmp_path / f'p{i}' / 'sweep.json').write_text(
            json.dumps(dict(world='128', runs={n: res['runs'][n] for n in part})))
    out = tmp_path / 'all'
    merged = merge_folders([str(tmp_path / 'p0'), str(tmp_path / 'p1')], str(out))
    assert json.loads((out / 'sweep.json').read_text()) == merged
    assert merged['runs'] == res['runs']
    assert (out / 'sweep.md').read_text() == markdown(res) + '\n'
    with pytest.raises(FileNotFoundError, match='p9/sweep.json: no sweep results there'):
        merge_folders([str(tmp_path / 'p9')], str(out))
