"""The one strict loader and its one mismatch report.

Every loader of declip_mm (image and text towers, VFM teachers, whole detectors / segmentors for
``tools/test.py``, ``load_from``, ``--resume`` and the demo) states a mismatch between a
checkpoint and a module in the same single line::

    FILE does not fit TARGET: 2 missing: a, b; 1 unexpected: c; 1 wrong shape: d (3, 4) vs (4, 4)

where a shape is "checkpoint vs model".
"""
from typing import Dict, List, Mapping, Optional, Sequence

from torch import Tensor, nn

from ..utils.errors import CheckpointError


def shape_mismatches(own: Mapping[str, Tensor], theirs: Mapping[str, Tensor]) -> List[str]:
    """``'key (checkpoint shape) vs (model shape)'`` for every shared key whose shape differs."""
    return [f'{k} {tuple(theirs[k].shape)} vs {tuple(own[k].shape)}' for k in own
            if k in theirs and hasattr(theirs[k], 'shape')
            and tuple(theirs[k].shape) != tuple(own[k].shape)]


def format_mismatch(missing: Sequence[str] = (), unexpected: Sequence[str] = (),
                    wrong_shape: Sequence[str] = (), limit: int = 5) -> Optional[str]:
    """``'N missing: ...; N unexpected: ...; N wrong shape: ...'`` or ``None`` if all empty."""
    parts = []
    for what, keys in (('missing', missing), ('unexpected', unexpected),
                       ('wrong shape', wrong_shape)):
        if keys:
            more = f' (+{len(keys) - limit} more)' if len(keys) > limit else ''
            parts.append(f'{len(keys)} {what}: ' + ', '.join(list(keys)[:limit]) + more)
    return '; '.join(parts) or None


def mismatch_summary(own: Mapping[str, Tensor], theirs: Mapping[str, Tensor],
                     limit: int = 5) -> Optional[str]:
    """The report between a module's state dict (``own``) and a checkpoint's, or ``None``."""
    return format_mismatch(sorted(set(own) - set(theirs)), sorted(set(theirs) - set(own)),
                           shape_mismatches(own, theirs), limit)


def mismatch_error(source: str, target: str, problem: str, hint: str = '') -> CheckpointError:
    """The one-line error: ``'SOURCE does not fit TARGET: PROBLEM[ HINT]'``."""
    return CheckpointError(f'{source} does not fit {target}: {problem}' +
                           (f' {hint}' if hint else ''))


def check_fits(own: Mapping[str, Tensor], theirs: Mapping[str, Tensor], source: str,
               target: str, hint: str = '') -> None:
    """Raise :func:`mismatch_error` unless ``theirs`` has exactly ``own``'s keys and shapes."""
    problem = mismatch_summary(own, theirs)
    if problem:
        raise mismatch_error(source, target, problem, hint)


def load_strictly(module: nn.Module, sd: Dict[str, Tensor], source: str,
                  target: Optional[str] = None) -> None:
    """Check ``sd`` against ``module`` (one line on any mismatch), then load it."""
    check_fits(module.state_dict(), sd, source, target or type(module).__name__)
    module.load_state_dict(sd, strict=True)
