"""Checkpoints on torch >= 2.6: mmengine's own types load, a code-running pickle is refused."""
import os
import numpy as np
import pytest
import torch

import declip_mm  # noqa: F401  (registers the allow-list)
from declip_mm.utils.errors import CheckpointError
from declip_mm.utils.safe_load import safe_torch_load


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
