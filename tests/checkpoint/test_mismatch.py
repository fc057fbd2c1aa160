"""The one mismatch report (declip_mm.checkpoint.mismatch)."""
import pytest
import torch
from torch import nn

from declip_mm.checkpoint import check_fits, format_mismatch, load_strictly, mismatch_summary
from declip_mm.utils.errors import CheckpointError


def test_mismatch_summaries():
    own = {'a': torch.zeros(2), 'b': torch.zeros(3)}
    theirs = {'a': torch.zeros(4), 'c': torch.zeros(1)}
    assert mismatch_summary(own, theirs) == ('1 missing: b; 1 unexpected: c; '
                                             '1 wrong shape: a (4,) vs (2,)')
    assert mismatch_summary(own, dict(own)) is None
    keys = [f'k{i}' for i in range(7)]
    assert format_mismatch(missing=keys) == '7 missing: k0, k1, k2, k3, k4 (+2 more)'


def test_strict_load_names_file_and_target():
    lin = nn.Linear(2, 3)
    with pytest.raises(CheckpointError) as err:
        load_strictly(lin, {'weight': torch.zeros(3, 4)}, 'x.pth', 'the head')
    assert str(err.value) == ('x.pth does not fit the head: 1 missing: bias; '
                              '1 wrong shape: weight (3, 4) vs (3, 2)')
    sd = {'weight': torch.full((3, 2), 2.0), 'bias': torch.ones(3)}
    load_strictly(lin, sd, 'x.pth')
    assert torch.equal(lin.weight, sd['weight'])
    check_fits(lin.state_dict(), sd, 'x.pth', 'the head')
