"""Random-number-generator state: capture it into a checkpoint, put it back on resume.

mmengine re-seeds on resume but does not store the generators' state, so a resumed run draws
different random numbers (RPN / RoI sampling, random transforms, dropout) than the run it
continues. The state of every generator a training step may use is captured here as plain
tensors, arrays and tuples, all of which load with ``torch.load(weights_only=True)``.
"""
import random
from typing import Any, Dict, List

import numpy as np
import torch

RngState = Dict[str, Any]


def get_rng_state() -> RngState:
    """This process's generator states: torch CPU (and CUDA), numpy's global, Python's."""
    state: RngState = dict(torch=torch.get_rng_state(), numpy=np.random.get_state(),
                           python=random.getstate())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: RngState) -> None:
    """Restore what :func:`get_rng_state` captured (CUDA only where it was captured)."""
    torch.set_rng_state(state['torch'])
    np.random.set_state(tuple(state['numpy']))
    py = state['python']
    random.setstate((py[0], tuple(py[1]), py[2]))
    if 'cuda' in state and torch.cuda.is_available():
        cuda = list(state['cuda'])
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)


def gather_rng_states() -> List[RngState]:
    """Every rank's state, ordered by rank (a one-element list without distributed training).

    A collective call: every rank must call it at the same point.
    """
    from mmengine.dist import all_gather_object, get_world_size
    state = get_rng_state()
    if get_world_size() == 1:
        return [state]
    return list(all_gather_object(state))


def rng_state_for_rank(states: List[RngState], rank: int, world_size: int) -> RngState:
    """The state rank ``rank`` saved; ``KeyError`` when the run had another process count."""
    if len(states) != world_size:
        raise KeyError(f'checkpoint holds generator states of {len(states)} processes, '
                       f'this run has {world_size}')
    return states[rank]
