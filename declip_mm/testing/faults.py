"""Fault injection for the crash and disk-full tests, switched on by environment variables.

Importing this module (configs name it through ``custom_imports``, via
``declip_mm.testing.toy``) wraps mmengine's ``LocalBackend.put`` when one of these is set:

* ``DECLIP_TEST_SLOW_SAVE=N,MARKER``: the N-th checkpoint write (1-based) writes half its bytes,
  writes ``MARKER`` and sleeps, so a test can SIGKILL the run in the middle of a save.
* ``DECLIP_TEST_ENOSPC=N``: the N-th checkpoint write (1-based) writes half its bytes and fails
  with ``OSError(ENOSPC)``, as a full disk does.

With neither set, importing it changes nothing.
"""
import errno
import os
import time

from mmengine.fileio import LocalBackend

_CHECKPOINT_SUFFIXES = ('.pth', '.pth.part')


def _wrap_put(nth: int, fail) -> None:
    """Call ``fail(obj, filepath)`` before the N-th checkpoint write of ``LocalBackend.put``."""
    original = LocalBackend.put
    calls = {'n': 0}

    def put(self, obj, filepath):
        if str(filepath).endswith(_CHECKPOINT_SUFFIXES):
            calls['n'] += 1
            if calls['n'] == nth:
                fail(obj, filepath)
        return original(self, obj, filepath)

    LocalBackend.put = put


def install_slow_save(nth: int, marker: str) -> None:
    """The N-th checkpoint write stops half-way, writes ``marker`` and sleeps 600 s."""
    def fail(obj, filepath):
        with open(filepath, 'wb') as f:
            f.write(obj[:len(obj) // 2])
            f.flush()
            os.fsync(f.fileno())
        with open(marker, 'w') as f:
            f.write(str(filepath))
        time.sleep(600)
    _wrap_put(nth, fail)


def install_disk_full(nth: int) -> None:
    """The N-th checkpoint write stops half-way and raises ``OSError(ENOSPC)``."""
    def fail(obj, filepath):
        with open(filepath, 'wb') as f:
            f.write(obj[:len(obj) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    _wrap_put(nth, fail)


def install_from_env() -> None:
    """Install the faults the environment asks for (see the module docstring)."""
    slow = os.environ.get('DECLIP_TEST_SLOW_SAVE')
    if slow:
        nth, marker = slow.split(',', 1)
        install_slow_save(int(nth), marker)
    full = os.environ.get('DECLIP_TEST_ENOSPC')
    if full:
        install_disk_full(int(full))


install_from_env()
