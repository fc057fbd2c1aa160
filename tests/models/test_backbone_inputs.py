"""DeCLIPViT's entry checks: ``out_indices`` must name existing blocks (they used to wrap
silently by ``i % depth``), and NaN / infinite pixels raise instead of giving an all-NaN dense
map and no boxes."""
import pytest
import torch

from declip_mm.models.backbones.declip_vit import DeCLIPViT, resolve_out_indices
from declip_mm.utils.errors import ConfigError, DataError


def test_out_indices_in_range_and_negative_from_the_end():
    assert resolve_out_indices((0, 1, 3), 4) == (0, 1, 3)
    assert resolve_out_indices([-1, -4], 4) == (3, 0)
    for bad in (10, 99, -9, 4, -5):
        with pytest.raises(ConfigError, match=rf'out_indices \[{bad}\] out of range for 4 '
                                              r'blocks \(valid: -4 to 3\)'):
            resolve_out_indices((1, bad), 4)
    for bad in ('abc', 3, (1.5,), (True,), ()):
        with pytest.raises(ConfigError, match='out_indices must be a non-empty list'):
            resolve_out_indices(bad, 4)


def test_nan_input_is_refused_at_the_entry(tiny_eva):
    torch.manual_seed(0)
    vit = DeCLIPViT(arch=tiny_eva, out_indices=(1, 3)).eval()
    with pytest.raises(ConfigError):
        DeCLIPViT(arch=tiny_eva, out_indices=(1, 10))
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        outs = vit(x)
        assert all(torch.isfinite(o).all() for o in outs)
        for bad in (float('nan'), float('inf')):
            y = x.clone()
            y[1, 0, 5, 7] = bad
            with pytest.raises(DataError, match='input images contain NaN or infinite values'):
                vit(y)
