"""Import a command-line script (``tools/*.py``) by file path, for tests of its ``main``."""
import importlib.util
import os
from types import ModuleType

from ..utils.package_paths import repository_path


def load_script(relative: str) -> ModuleType:
    """The module of the repository file ``relative`` (e.g. ``'tools/train.py'``), freshly
    executed under a private name (``declip_script_<name>``); ``sys.path`` is not touched."""
    path = repository_path(relative)
    name = 'declip_script_' + os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
