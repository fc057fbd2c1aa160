"""``declip_mm://`` paths: files shipped inside the installed package, named portably.

A config that needs a shipped file (the OV-Shapes checkpoints under ``declip_mm/assets``)
writes ``'declip_mm://assets/ovshapes/tiny_clip.pt'`` instead of an absolute path computed at
load time, so a saved (dumped) config names no folder of the machine that wrote it. Readers
of checkpoint files resolve the prefix with :func:`resolve_package_path` when they open them.
"""
import os

PACKAGE_SCHEME = 'declip_mm://'
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
"""The folder of the imported ``declip_mm`` package (source tree or site-packages)."""


def resolve_package_path(path: str) -> str:
    """``'declip_mm://assets/x.pt'`` -> ``<PACKAGE_DIR>/assets/x.pt``; other paths unchanged."""
    if isinstance(path, str) and path.startswith(PACKAGE_SCHEME):
        return os.path.join(PACKAGE_DIR, *path[len(PACKAGE_SCHEME):].strip('/').split('/'))
    return path


def repository_path(relative: str) -> str:
    """A repository file (``'configs/ovshapes/x.py'``): from the source checkout the package
    lies in, else from the installed copy under ``declip_mm/.mim`` (mim's layout)."""
    checkout = os.path.join(os.path.dirname(PACKAGE_DIR), relative)
    shipped = os.path.join(PACKAGE_DIR, '.mim', relative)
    return shipped if not os.path.exists(checkout) and os.path.exists(shipped) else checkout
