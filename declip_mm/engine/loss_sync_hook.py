"""``DeCLIPLossSyncHook``: log losses averaged over all processes, not rank 0's alone.

mmengine logs what rank 0 computed on its share of the batch, so the logged curve of an
N-process run depends on N. Each rank's losses are means over its own images; with equal
per-rank batches their average over ranks is the loss of the global batch, which is what one
process with the same global batch logs. This hook replaces the logged values by that average
before mmengine's ``RuntimeInfoHook`` records them (one small ``all_reduce`` per iteration).
Without distributed training it does nothing. Named in ``configs/_base_/default_runtime_*.py``.
"""
from typing import Optional

import torch
from mmengine.dist import all_gather_object, all_reduce, get_world_size
from mmengine.hooks import Hook

from ..registry import HOOKS


@HOOKS.register_module()
class DeCLIPLossSyncHook(Hook):
    """Average the logged training outputs (losses, accuracies) over processes."""

    priority = 'HIGHEST'  # before RuntimeInfoHook (VERY_HIGH) copies the outputs to the log

    def __init__(self) -> None:
        self._same_keys: Optional[bool] = None

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if not outputs or get_world_size() == 1:
            return
        keys = sorted(k for k, v in outputs.items() if _is_scalar(v))
        if self._same_keys is None:  # once: every rank must log the same names
            self._same_keys = all(k == keys for k in all_gather_object(keys))
            if not self._same_keys:
                runner.logger.warning('processes log different outputs; the logged values '
                                      'are rank 0\'s, not averages over processes')
        if not self._same_keys or not keys:
            return
        values = torch.stack([torch.as_tensor(outputs[k], dtype=torch.float64).detach().cpu()
                              for k in keys])
        device = next((v.device for v in outputs.values() if torch.is_tensor(v)), None)
        if device is not None:
            values = values.to(device)
        all_reduce(values, op='mean')  # in place
        for key, value in zip(keys, values.cpu()):
            outputs[key] = value.to(torch.float32)


def _is_scalar(value) -> bool:
    return isinstance(value, (int, float)) or (torch.is_tensor(value) and value.numel() == 1)
