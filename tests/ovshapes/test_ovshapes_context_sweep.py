"""The context sweep's tables: rows over seeds and gains paired by seed (no training here)."""
import pytest

from declip_mm.ovshapes.context_sweep import KEYS, markdown, paired_gains, run_name


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
