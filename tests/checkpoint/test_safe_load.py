"""Checkpoints on torch >= 2.6: mmengine's own types load, a code-running pickle is refused."""
import os
import numpy as np
import pytest
import torch

import declip_mm  # noqa: F401  (registers the allow-list)
from declip_mm.utils.errors import CheckpointError
from declip_mm.checkpoint import safe_torch_load


def test_mmengine_message_hub_state_loads_weights_only(tmp_path):
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('declip_safe_load_test')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/loss', np.float64(0.5))
    hub.update_info('iter', 3)
    ckpt = dict(meta=dict(seed=np.int64(1), message_hub=hub.state_dict(),
                          arr=np.arange(3, dtype=np.float32)),
                state_dict={'w': torch.ones(2)})
    path = str(tmp_path / 'ckpt.pth')
    torch.save(ckpt, path)
    # Plain torch.load (what mmengine calls) works once declip_mm is imported.
    loaded = torch.load(path, map_location='cpu')
    assert float(loaded['meta']['message_hub']['log_scalars']['train/loss'].current()) == 0.5
    assert safe_torch_load(path)['state_dict']['w'].sum().item() == 2


class _Evil:
    def __reduce__(self):
        return (os.system, ('echo pwned > /dev/null',))


def test_code_running_pickle_is_refused_with_one_line(tmp_path):
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': _Evil()}, path)
    with pytest.raises(CheckpointError) as err:
        safe_torch_load(path)
    msg = str(err.value)
    assert 'refusing to load' in msg and 'system' in msg and '\n' not in msg


@pytest.mark.parametrize('text', ['hello world, not a checkpoint\n' * 20, 'a' * 1000,
                                  'import os\nprint(1)\n' * 50, '{"state_dict": {}}'])
def test_text_files_are_one_line(tmp_path, text):
    """torch's unpickler fails on text with IndexError / KeyError / ...: still one line."""
    path = tmp_path / 'notes.pth'
    path.write_text(text)
    with pytest.raises(CheckpointError, match=r'^cannot read checkpoint .*notes\.pth: not a '
                                              r'torch checkpoint') as err:
        safe_torch_load(str(path))
    assert '\n' not in str(err.value)


def test_random_bytes_are_not_called_code(tmp_path):
    """Random bytes, also ones whose first byte is pickle's GLOBAL opcode, are "not a torch
    checkpoint", never a file that "could run arbitrary code"."""
    g = torch.Generator().manual_seed(0)
    for i in range(60):
        data = bytes(torch.randint(0, 256, (512,), generator=g, dtype=torch.uint8).tolist())
        path = tmp_path / f'r{i}.pth'
        path.write_bytes((b'c' if i % 2 else b'') + data)
        with pytest.raises(CheckpointError) as err:
            safe_torch_load(str(path))
        assert 'arbitrary code' not in str(err.value) and '\n' not in str(err.value)


def test_empty_and_truncated_files(tmp_path):
    (tmp_path / 'empty.pth').write_bytes(b'')
    with pytest.raises(CheckpointError, match='empty.pth: the file is empty or ends early'):
        safe_torch_load(str(tmp_path / 'empty.pth'))


def test_empty_numpy_array_and_history_buffer_load(tmp_path):
    """An empty array pickles its data as ``builtins.bytes()``: allowed with no argument only.
    An empty ``HistoryBuffer`` (mmengine's message hub, e.g. a key logged but not yet updated)
    holds two empty arrays."""
    from mmengine.logging import HistoryBuffer
    path = str(tmp_path / 'ckpt.pth')
    torch.save({'meta': {'buffer': HistoryBuffer(), 'arr': np.zeros((0, 3))},
                'state_dict': {'w': torch.ones(1)}}, path)
    loaded = safe_torch_load(path)
    assert loaded['meta']['arr'].shape == (0, 3)
    values, counts = loaded['meta']['buffer'].data
    assert values.shape == counts.shape == (0,)
    assert torch.equal(loaded['state_dict']['w'], torch.ones(1))


class _BigBytes:
    def __reduce__(self):
        return (bytes, (10 ** 6,))


def test_bytes_with_an_argument_is_refused(tmp_path):
    path = str(tmp_path / 'alloc.pth')
    torch.save({'x': _BigBytes()}, path)
    with pytest.raises(CheckpointError, match='refusing to load'):
        safe_torch_load(path)
