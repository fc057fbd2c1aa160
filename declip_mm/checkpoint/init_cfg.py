"""``init_cfg=dict(type='Pretrained', ...)`` in every form mmengine accepts, through our loaders.

mmengine lets a config write the pretrained weights of a module as a dict or as one entry of a
list of initialisers, with an optional ``prefix``. declip_mm's towers handle the ``Pretrained``
entry themselves (official layouts are converted, the load is strict); the other initialisers
of a list run first, through mmengine, as mmengine orders them.
"""
from typing import Any, Callable, Optional, Tuple

from ..utils.errors import ConfigError


def split_init_cfg(init_cfg: Any, owner: str) -> Tuple[Optional[dict], Any]:
    """``(the Pretrained entry or None, the other initialisers or None)``.

    Raises:
        ConfigError: more than one ``Pretrained`` entry, or one without ``checkpoint``.
    """
    if init_cfg is None:
        return None, None
    entries = list(init_cfg) if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    pretrained = [e for e in entries if isinstance(e, dict) and e.get('type') == 'Pretrained']
    rest = [e for e in entries if not (isinstance(e, dict) and e.get('type') == 'Pretrained')]
    if len(pretrained) > 1:
        raise ConfigError(f'{owner}.init_cfg: {len(pretrained)} Pretrained entries; give one '
                          'checkpoint per module')
    if pretrained and not pretrained[0].get('checkpoint'):
        raise ConfigError(f'{owner}.init_cfg: Pretrained needs checkpoint=PATH')
    if not rest:
        rest = None
    elif not isinstance(init_cfg, (list, tuple)):
        rest = rest[0]
    return (dict(pretrained[0]) if pretrained else None), rest


def pretrained_checkpoint(init_cfg: Any) -> Optional[str]:
    """The checkpoint of the ``Pretrained`` entry of ``init_cfg`` (dict or list), if any."""
    pretrained, _ = split_init_cfg(init_cfg, 'init_cfg')
    return pretrained['checkpoint'] if pretrained else None


def init_with_pretrained(module: Any, load: Callable[[str, str], None],
                         base_init: Callable[[], None]) -> None:
    """Run ``module``'s initialisation with its ``Pretrained`` entry loaded by ``load``.

    Args:
        module: an mmengine ``BaseModule`` (its ``init_cfg`` is read).
        load: ``load(checkpoint, prefix)``, e.g. the strict tower loader.
        base_init: the module's parent ``init_weights`` (runs the other initialisers).
    """
    pretrained, rest = split_init_cfg(module.init_cfg, type(module).__name__)
    if pretrained is None:
        base_init()
        return
    if rest is not None:
        saved, module.init_cfg = module.init_cfg, rest
        try:
            base_init()
        finally:
            module.init_cfg = saved
    load(pretrained['checkpoint'], pretrained.get('prefix') or '')
    module._is_init = True
