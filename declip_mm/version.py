"""declip_mm's version and the OpenMMLab versions it works with.

This file is the one place for both: ``setup.py`` reads ``__version__`` from it without
importing the package, ``declip_mm/__init__.py`` re-exports it and calls
:func:`check_mm_versions` before anything imports mmdet or mmseg, and
``requirements/mminstall.txt`` (what ``mim install`` reads) lists the same ranges
(``tests/test_packaging.py`` checks that the two agree). Nothing here imports at module level,
so ``setup.py`` can ``exec`` it.
"""
from typing import Dict, List, Mapping, Optional, Tuple

__version__ = '0.1.0'

MM_REQUIREMENTS: Tuple[Tuple[str, str, str, str], ...] = (
    # (import name, distribution name, minimum (inclusive), maximum (exclusive))
    ('mmengine', 'mmengine', '0.10.4', '0.11.0'),
    ('mmcv', 'mmcv', '2.0.0rc4', '2.2.0'),
    ('mmdet', 'mmdet', '3.3.0', '3.4.0'),
    ('mmseg', 'mmsegmentation', '1.2.2', '1.3.0'),
)
"""The OpenMMLab packages declip_mm needs. mmdet 3.3 and mmseg 1.2 refuse mmcv >= 2.2.0 at
import; declip_mm is tested with mmengine 0.10.7, mmcv 2.1.0, mmdet 3.3.0, mmseg 1.2.2."""


def requirement_line(dist: str, low: str, high: str) -> str:
    """``'mmdet>=3.3.0,<3.4.0'``: one requirement in pip's syntax."""
    return f'{dist}>={low},<{high}'


def installed_versions() -> Dict[str, Optional[str]]:
    """The installed version of each package of :data:`MM_REQUIREMENTS` (``None``: absent).

    Read from the installed distributions' metadata, so nothing is imported; a package found
    only on ``sys.path`` (a source checkout) is asked for its ``__version__``.
    """
    from importlib import import_module, metadata, util
    found: Dict[str, Optional[str]] = {}
    for module, dist, _, _ in MM_REQUIREMENTS:
        try:
            found[module] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[module] = None
            if util.find_spec(module) is not None:
                found[module] = getattr(import_module(module), '__version__', None)
    return found


def incompatibilities(installed: Mapping[str, Optional[str]]) -> List[str]:
    """One phrase per package of :data:`MM_REQUIREMENTS` whose version is absent or out of range.

    Args:
        installed: import name -> installed version string (``None`` or missing: absent).

    Returns:
        e.g. ``['mmdet 3.2.0 is installed, 3.3.0 <= version < 3.4.0 is required']``; empty
        when everything fits.
    """
    from packaging.version import InvalidVersion, Version
    problems = []
    for module, dist, low, high in MM_REQUIREMENTS:
        version = installed.get(module)
        if version is None:
            problems.append(f'{dist} is not installed ({requirement_line(dist, low, high)} '
                            'is required)')
            continue
        try:
            fits = Version(low) <= Version(version) < Version(high)
        except InvalidVersion:
            fits = False
        if not fits:
            problems.append(f'{dist} {version} is installed, {low} <= version < {high} '
                            'is required')
    return problems


def check_mm_versions(installed: Optional[Mapping[str, Optional[str]]] = None) -> None:
    """Raise one ``ImportError`` line naming every OpenMMLab package that does not fit.

    Args:
        installed: versions to check (default: :func:`installed_versions`).

    Raises:
        ImportError: ``declip_mm 0.1.0: mmdet 3.2.0 is installed, 3.3.0 <= version < 3.4.0
            is required; install the ranges of requirements/mminstall.txt (mim install ...)``.
    """
    problems = incompatibilities(installed_versions() if installed is None else installed)
    if problems:
        pins = ' '.join(f'"{requirement_line(d, lo, hi)}"' for _, d, lo, hi in MM_REQUIREMENTS)
        raise ImportError(f'declip_mm {__version__}: {"; ".join(problems)}. Install the '
                          f'ranges of requirements/mminstall.txt: mim install {pins}')
