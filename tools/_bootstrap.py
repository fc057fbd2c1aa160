"""Shared start-up for declip_mm's command-line tools.

Puts the repository on ``sys.path`` (so the tools work from a clone without ``pip install``),
keeps model hubs offline unless the user says otherwise, and prints declip_mm's user errors as
one line instead of a traceback.
"""
import os
import sys
import warnings
from typing import Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
os.environ.setdefault('HF_HUB_OFFLINE', '1')
# mmengine / mmcv import pkg_resources (setuptools < 81 is pinned for mmcv's build): noise only.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated')


def run_main(main: Callable[[], None]) -> None:
    """Run ``main``; a ``DeCLIPError`` (or missing file) becomes one ``error:`` line, exit 1."""
    from declip_mm.utils.errors import DeCLIPError
    try:
        main()
    except DeCLIPError as err:
        print(f'error: {err}', file=sys.stderr)
        sys.exit(1)
    except FileNotFoundError as err:
        print(f'error: file not found: {err.filename or err}', file=sys.stderr)
        sys.exit(1)
