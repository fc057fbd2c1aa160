"""One freezing API for CLIP towers, in the spirit of open_clip's ``lock()`` / layer groups.

A tower's parameters are partitioned once, in forward order, into layer groups
(:func:`layer_groups`): ``'embed'`` (everything before the first block: patch / token
embedding, position embedding, class token, pre-norm), ``'block.0'`` ... ``'block.{n-1}'``, and
``'head'`` (everything after the last block: final norm, projection). Every parameter is in
exactly one group. Freezing is then a set of names taken from that partition, applied by
:func:`lock` (freeze these, except what matches ``trainable``; the rest trains) or
:func:`freeze` (freeze these, touch nothing else). All users go through it:

* ``DeCLIPViT(frozen=True | n, trainable=[...])``: all groups, or ``embed`` + the first ``n``
  blocks, locked with ``trainable`` patterns left open;
* the distiller's official freeze list (``distillers/freezing.py``): ``embed``, ``head`` and the
  parts of the last block that the decoupled forward does not use;
* CAT-Seg's text tower: every group locked, its ``trainable`` in-projections left open.
"""
import fnmatch
from collections import OrderedDict
from typing import Dict, Iterable, List, Sequence

from torch import nn

from ..utils.errors import ConfigError


def layer_groups(module: nn.Module, blocks: Sequence[nn.Module],
                 head_keys: Sequence[str]) -> 'OrderedDict[str, List[str]]':
    """Partition ``module``'s parameter names into ``embed``, ``block.i`` and ``head``.

    Args:
        module: the tower (names are relative to it).
        blocks: its transformer blocks, in order (sub-modules of ``module``).
        head_keys: substrings of the names of the parameters after the last block; the other
            parameters outside the blocks are ``embed``.

    Returns:
        ordered ``group -> parameter names``; the groups' union is every parameter, once.
    """
    owner: Dict[int, int] = {id(p): i for i, b in enumerate(blocks) for p in b.parameters()}
    groups: 'OrderedDict[str, List[str]]' = OrderedDict(embed=[])
    for i in range(len(blocks)):
        groups[f'block.{i}'] = []
    groups['head'] = []
    for name, p in module.named_parameters():
        if id(p) in owner:
            groups[f'block.{owner[id(p)]}'].append(name)
        elif any(k in name for k in head_keys):
            groups['head'].append(name)
        else:
            groups['embed'].append(name)
    return groups


def matching(names: Iterable[str], patterns: Sequence[str]) -> List[str]:
    """The names that match any fnmatch pattern, in their order."""
    return [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in patterns)]


def check_patterns(names: Sequence[str], patterns: Sequence[str], what: str) -> None:
    """Raise ``ConfigError`` naming ``what`` if a pattern matches no name."""
    unused = [p for p in patterns if not matching(names, [p])]
    if unused:
        raise ConfigError(f'{what}: parameter patterns match nothing: {unused}')


def freeze(module: nn.Module, names: Iterable[str]) -> List[str]:
    """``requires_grad=False`` on the named parameters; the others are left as they are.

    Returns:
        the frozen names (those of ``names`` that ``module`` has), sorted.
    """
    names = set(names)
    frozen = []
    for name, p in module.named_parameters():
        if name in names:
            p.requires_grad_(False)
            frozen.append(name)
    return sorted(frozen)


def lock(module: nn.Module, names: Iterable[str], trainable: Sequence[str] = ()) -> List[str]:
    """Freeze the named parameters except those matching ``trainable``; the others train.

    Returns:
        the frozen names, sorted.

    Raises:
        ConfigError: a ``trainable`` pattern that matches no parameter of ``module`` (a typo
            would otherwise leave the parameters it meant frozen without a word).
    """
    names = list(names)
    check_patterns([n for n, _ in module.named_parameters()], trainable, 'trainable')
    frozen = set(names) - set(matching(names, trainable))
    for name, p in module.named_parameters():
        p.requires_grad_(name not in frozen)
    return sorted(frozen)
