"""Shared start-up for declip_mm's command-line tools.

Puts the repository on ``sys.path`` (so the tools work from a clone without ``pip install``),
keeps model hubs offline unless the user says otherwise, and prints user errors (a bad config
field, data file or checkpoint: see ``declip_mm.engine.user_errors``) as one ``error:`` line
instead of a traceback. ``DECLIP_TRACEBACK=1`` shows the traceback.
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


def _as_user_error(err: Exception):
    """``err`` as a one-line ``DeCLIPError``, or ``None`` when it is not a user error."""
    try:
        from declip_mm.engine.user_errors import explain
    except Exception:  # the package itself does not import: show the real traceback
        return None
    return explain(err)


def run_main(main: Callable[[], None]) -> None:
    """Run ``main``; a user error becomes one ``error:`` line on stderr and exit status 1."""
    try:
        main()
    except FileNotFoundError as err:
        if os.environ.get('DECLIP_TRACEBACK'):
            raise
        print(f'error: file not found: {err.filename or err}', file=sys.stderr)
        sys.exit(1)
    except Exception as err:
        user = None if os.environ.get('DECLIP_TRACEBACK') else _as_user_error(err)
        if user is None:
            raise
        print(f'error: {user}', file=sys.stderr)
        sys.exit(1)
