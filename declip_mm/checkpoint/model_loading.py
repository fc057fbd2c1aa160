"""Loading a whole detector / segmentor / distiller checkpoint: the one strict path of the tools.

``tools/test.py CHECKPOINT``, ``load_from``, ``--resume`` and ``tools/demo.py --checkpoint`` all
come here. The file is read safely, the model's own load hooks convert official layouts
(e.g. a bare CLIP file into a segmentor), and any missing, unexpected or mis-shaped weight is
one :class:`CheckpointError` naming the file and the model.

One exception keeps strictness honest without forcing users to build combined files: a text
encoder (``DeCLIPTextEncoder``) whose weights the file does not hold *at all*, and whose own
``init_cfg`` names a checkpoint, is loaded from that checkpoint, and one log line says so. A
file that holds part of a text tower, or a model without such an ``init_cfg``, still fails.
"""
import logging
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Tuple

from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from torch import Tensor, nn

from ..utils.errors import CheckpointError
from .init_cfg import pretrained_checkpoint
from .mismatch import format_mismatch, mismatch_error, mismatch_summary, shape_mismatches
from .reading import inspect_checkpoint, unwrap_state_dict

NON_STRICT_HINT = '(--non-strict evaluates anyway)'


def bare_model(model: nn.Module) -> nn.Module:
    """The module inside a DDP / mmengine wrapper."""
    return model.module if is_model_wrapper(model) else model


def read_model_checkpoint(path: str) -> Tuple[dict, Dict[str, Tensor]]:
    """``(checkpoint dict, its state dict)`` of ``path``, read safely."""
    if not isinstance(path, str) or not path:
        raise CheckpointError(f'no checkpoint file given ({path!r})')
    obj = inspect_checkpoint(path)  # tensors memory-mapped, copied once into the model
    sd = unwrap_state_dict(obj, path)
    raw = obj.get('state_dict', obj)
    state = OrderedDict(sd)
    state._metadata = getattr(raw, '_metadata', OrderedDict())  # module versions (BatchNorm)
    return obj, state


def load_model_checkpoint(model: nn.Module, path: str, strict: bool = True,
                          hint: str = '') -> dict:
    """Load ``path`` into ``model`` (a wrapper is unwrapped); return the checkpoint dict.

    Args:
        strict: raise on any mismatch; otherwise log the same report as one warning line.
        hint: appended to the error (e.g. :data:`NON_STRICT_HINT`).
    """
    obj, sd = read_model_checkpoint(path)
    load_state_into(model, sd, path, strict, hint)
    return obj


def load_state_into(model: nn.Module, sd: Dict[str, Tensor], path: str, strict: bool = True,
                    hint: str = '') -> None:
    """The load of :func:`load_model_checkpoint`, for a state dict read from ``path``."""
    module = bare_model(model)
    own = module.state_dict()
    seen: Dict[str, Tensor] = {}
    handle = module.register_load_state_dict_pre_hook(
        lambda _m, state_dict, prefix, *args: seen.update(state_dict) if not prefix else None)
    try:
        missing, unexpected = _load(module, sd, path)
    except CheckpointError as err:  # a model's own refusal: name the file
        raise CheckpointError(str(err) if path in str(err) else f'{path}: {err}') from None
    finally:
        handle.remove()
    seen = seen or sd
    missing = [k for k in (missing if missing is not None else sorted(set(own) - set(seen)))
               if 'num_batches_tracked' not in k]
    unexpected = unexpected if unexpected is not None else sorted(set(seen) - set(own))
    missing = fill_text_encoders_from_init_cfg(module, missing, path)
    problem = format_mismatch(missing, unexpected, shape_mismatches(own, seen))
    if problem and strict:
        raise mismatch_error(path, f'this {type(module).__name__}', problem, hint)
    if problem:
        print_log(f'{path} does not fit this {type(module).__name__}: {problem}',
                  logger='current', level=logging.WARNING)


def _load(module: nn.Module, sd: Dict[str, Tensor], path: str
          ) -> Tuple[Optional[List[str]], Optional[List[str]]]:
    """Load what fits; ``(missing, unexpected)`` or ``(None, None)`` if shapes broke the load
    (the caller then compares the converted state dict itself).

    Raises:
        CheckpointError: the load failed for another reason (never a silent partial load).
    """
    try:
        result = module.load_state_dict(sd, strict=False)
    except RuntimeError as err:
        if 'size mismatch' in str(err):  # reported from the shapes, not from the message
            return None, None
        first = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
        raise CheckpointError(f'cannot load {path} into {type(module).__name__}: '
                              f'{first}') from None
    return list(result.missing_keys), list(result.unexpected_keys)


def fill_text_encoders_from_init_cfg(module: nn.Module, missing: List[str],
                                     path: str) -> List[str]:
    """Load text encoders that ``path`` lacks entirely from their own ``init_cfg``; return the
    keys still missing (see the module docstring)."""
    from ..models.text.text_encoder import DeCLIPTextEncoder
    left = set(missing)
    for name, sub in module.named_modules():
        if not isinstance(sub, DeCLIPTextEncoder):
            continue
        keys = {f'{name}.{k}' for k in sub.state_dict()}
        source = pretrained_checkpoint(sub.init_cfg)
        if not keys or not keys <= left or not source:
            continue
        sub.init_weights()
        left -= keys
        print_log(f'{path} holds no weights for {name} ({len(keys)} tensors): loaded them from '
                  f'its init_cfg checkpoint {source}', logger='current', level=logging.INFO)
    return [k for k in missing if k in left]


def load_checkpoint_strictly(runner: Any, path: str, strict: bool = True) -> dict:
    """``runner.load_checkpoint`` through :func:`load_model_checkpoint` (``tools/test.py``)."""
    obj, sd = read_model_checkpoint(path)
    runner.call_hook('after_load_checkpoint', checkpoint=obj)
    load_state_into(runner.model, sd, path, strict, NON_STRICT_HINT)
    runner._has_loaded = True
    runner.logger.info(f'Load checkpoint from {path}')
    return obj


def check_load_from(model: nn.Module, path: str) -> None:
    """``load_from`` fits the model exactly (a trial load; the runner loads it again later)."""
    inspect_checkpoint(path, 'load_from')
    load_model_checkpoint(model, path, strict=True,
                          hint='(load_from is loaded strictly; to load part of a model, give '
                               "its module init_cfg=dict(type='Pretrained', prefix=...))")


def check_resume_checkpoint(model: Any, path: str) -> None:
    """``path`` is a training checkpoint of exactly this model (keys and shapes)."""
    obj = inspect_checkpoint(path, '--resume')
    if not isinstance(obj.get('meta'), dict) or 'message_hub' not in obj or \
            'state_dict' not in obj:
        raise CheckpointError(f'{path} is not a training checkpoint (no meta / message_hub / '
                              'state_dict); give weights-only files as load_from, not --resume')
    module = bare_model(model)
    problem = mismatch_summary(module.state_dict(), unwrap_state_dict(obj, path))
    if problem:
        raise mismatch_error(path, f'this {type(module).__name__}', problem)


def weights_without_source(model: nn.Module) -> List[str]:
    """State-dict keys of ``model`` that no ``Pretrained`` ``init_cfg`` of it (or of a
    submodule) provides."""
    module = bare_model(model)
    covered = [name for name, sub in module.named_modules()
               if pretrained_checkpoint(getattr(sub, 'init_cfg', None))]
    if '' in covered:
        return []
    return [k for k in module.state_dict() if 'num_batches_tracked' not in k
            and not any(k.startswith(name + '.') for name in covered)]


def require_init_weights(model: nn.Module, hint: str) -> None:
    """Refuse, in one line, a model whose ``init_cfg`` files leave weights untrained."""
    left = weights_without_source(model)
    if left:
        more = f' (+{len(left) - 3} more)' if len(left) > 3 else ''
        raise CheckpointError(f'no weights for {len(left)} tensors of this '
                              f'{type(bare_model(model)).__name__} ({", ".join(left[:3])}{more}): '
                              f'no init_cfg checkpoint provides them; {hint}')


def load_pretrained_model(module: nn.Module, path: str, prefix: str = '') -> None:
    """A whole model's ``init_cfg=dict(type='Pretrained', checkpoint=path[, prefix=...])``:
    read safely, keep the keys under ``prefix`` (stripped, as mmengine's ``PretrainedInit``
    does) and load strictly, with the one mismatch report.

    Raises:
        CheckpointError: unreadable file, nothing under ``prefix``, or any mismatch.
    """
    _, sd = read_model_checkpoint(path)
    if prefix:
        head = prefix if prefix.endswith('.') else prefix + '.'
        sd = OrderedDict((k[len(head):], v) for k, v in sd.items() if k.startswith(head))
        if not sd:
            raise CheckpointError(f'{path} holds no weights under prefix {prefix!r}')
    load_state_into(module, sd, path, strict=True)


class StrictPretrainedInit:
    """Mixin of declip_mm's whole models (detector, segmentors): a top-level ``Pretrained``
    ``init_cfg`` (dict or list form, ``prefix``) loads through :func:`load_pretrained_model`,
    strictly, instead of mmengine's non-strict ``PretrainedInit``; the other initialisers and
    the sub-modules' own ``init_cfg`` run first, as mmengine orders them."""

    def init_weights(self) -> None:
        from .init_cfg import init_with_pretrained
        init_with_pretrained(self, lambda path, prefix: load_pretrained_model(self, path, prefix),
                             super().init_weights)
