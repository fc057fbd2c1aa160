"""Start-up shared by declip_mm's command-line tools (``tools/*.py``).

:func:`run_main` keeps model hubs offline unless the user says otherwise, silences the
``pkg_resources`` deprecation notice (mmengine / mmcv import it; setuptools < 81 is pinned for
mmcv's build) and prints user errors (a bad config field, data file or checkpoint: see
``declip_mm.engine.user_errors``) as one ``error:`` line instead of a traceback. ``DECLIP_TRACEBACK=1`` shows the traceback.
"""
import os
import sys
import warnings
from typing import Callable, Optional


def offline_by_default() -> None:
    """``HF_HUB_OFFLINE=1`` unless set by the user: every model comes from local files."""
    if 'HF_HUB_OFFLINE' in os.environ:
        return
    os.environ['HF_HUB_OFFLINE'] = '1'
    constants = sys.modules.get('huggingface_hub.constants')  # already imported: tell it too
    if constants is not None:
        constants.HF_HUB_OFFLINE = True


def _as_user_error(err: Exception) -> Optional[Exception]:
    """``err`` as a one-line ``DeCLIPError``, or ``None`` when it is not a user error."""
    from ..engine.user_errors import explain
    return explain(err)


def run_main(main: Callable[[], None]) -> None:
    """Run ``main``; a user error becomes one ``error:`` line on stderr and exit status 1."""
    offline_by_default()
    warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
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
