"""atomic_torch_save: a checkpoint is either the complete old file or the complete new one."""
import pytest
import torch

from declip_mm.engine import atomic_io
from declip_mm.engine.atomic_io import atomic_torch_save


def test_atomic_torch_save_writes_and_replaces(tmp_path):
    path = str(tmp_path / 'sub' / 'w.pth')            # missing folder is created
    atomic_torch_save({'w': torch.arange(3.0)}, path)
    assert torch.equal(torch.load(path, weights_only=True)['w'], torch.arange(3.0))
    atomic_torch_save({'w': torch.ones(2)}, path)
    assert torch.equal(torch.load(path, weights_only=True)['w'], torch.ones(2))
    assert sorted(p.name for p in (tmp_path / 'sub').iterdir()) == ['w.pth']


def test_a_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = str(tmp_path / 'w.pth')
    atomic_torch_save({'w': torch.ones(2)}, path)

    def broken(tmp, dst):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(atomic_io, 'commit', broken)
    with pytest.raises(OSError):
        atomic_torch_save({'w': torch.zeros(5)}, path)
    assert torch.equal(torch.load(path, weights_only=True)['w'], torch.ones(2))
