"""One training run per work dir, and ``last_checkpoint`` read relative to its work dir.

* **Lock.** A training run holds ``WORK_DIR/.declip_train.lock``: an ``fcntl.flock`` on the
  file, which the kernel drops when the process ends (``kill -9`` included), and the holder's
  host and pid inside, for the message. A second run on the same work dir is refused with one
  line naming the holder. A lock file left by a dead run is no longer locked: the next run takes
  it over and says whose it was. Only the main process (rank 0) locks.
* **Claim.** :func:`claim_work_dir` takes the lock and then deletes the ``.part`` files an
  interrupted save left (they may fill the disk), before anything else writes into the work dir.
* **last_checkpoint.** Written as a path relative to the work dir (``iter_40.pth``), so a moved
  or copied work dir resumes from its own files. :func:`latest_checkpoint` also reads the
  absolute paths older runs wrote, preferring the file of that name inside the work dir.
"""
import os
import os.path as osp
import socket
from typing import Dict, List, Optional

from ..utils.errors import ConfigError
from .atomic_io import remove_stale_parts

LOCK_NAME = '.declip_train.lock'
LAST_CHECKPOINT = 'last_checkpoint'

_held: Dict[str, int] = {}
"""Work dirs this process has locked (absolute path -> open file descriptor)."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _holder(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip() or 'unknown'
    except OSError:
        return 'unknown'


def lock_work_dir(work_dir: str) -> Optional[str]:
    """Lock ``work_dir`` for this process; return the previous (dead) holder, if any.

    Raises:
        ConfigError: another live process holds the lock.
    """
    import fcntl
    work_dir = osp.abspath(work_dir)
    if work_dir in _held:
        return None
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, LOCK_NAME)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise ConfigError(f'work dir {work_dir} is in use by another training run '
                              f'({_holder(path)}, lock file {path}); wait for it to finish, '
                              'or give another --work-dir') from None
        try:  # the holder may have removed the file between our open and flock: retry
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    previous = os.read(fd, 256).decode('utf-8', 'replace').strip()
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, f'host {socket.gethostname()} pid {os.getpid()}\n'.encode())
    os.fsync(fd)
    _held[work_dir] = fd
    return previous or None


def unlock_work_dir(work_dir: str) -> None:
    """Remove the lock file and release the lock (a no-op if this process holds none)."""
    fd = _held.pop(osp.abspath(work_dir), None)
    if fd is None:
        return
    try:
        os.remove(osp.join(osp.abspath(work_dir), LOCK_NAME))
    except OSError:
        pass
    os.close(fd)


def stale_holder_note(previous: Optional[str]) -> Optional[str]:
    """A log line about a lock file left by a run that died, or ``None``."""
    if not previous:
        return None
    fields = previous.split()
    pid = int(fields[-1]) if fields and fields[-1].isdigit() else None
    same_host = len(fields) >= 2 and fields[1] == socket.gethostname()
    if pid is not None and same_host and _pid_alive(pid) and pid != os.getpid():
        state = 'still alive but not holding the lock'
    else:
        state = 'no longer running'
    return f'took over the work dir lock left by {previous} ({state})'


def claim_work_dir(work_dir: str) -> List[str]:
    """Lock ``work_dir`` and delete the ``.part`` files of interrupted saves.

    Returns the log lines to show (a taken-over lock, removed files). Idempotent per process.
    """
    if osp.abspath(work_dir) in _held:
        return []
    notes = [stale_holder_note(lock_work_dir(work_dir))]
    notes += [f'removed {p}, left by a save that was interrupted'
              for p in remove_stale_parts(work_dir)]
    return [n for n in notes if n]


def relative_to_work_dir(path: str, work_dir: str) -> str:
    """``path`` as ``last_checkpoint`` stores it: relative when it lies inside ``work_dir``."""
    rel = osp.relpath(osp.abspath(path), osp.abspath(work_dir))
    return path if rel.startswith(os.pardir) else rel


def latest_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``work_dir/last_checkpoint`` names, resolved against ``work_dir``.

    An absolute path written by an older run is kept only when no file of the same name lies
    in ``work_dir`` (a copied work dir resumes from its own copy). ``None`` without the file.
    """
    record = osp.join(work_dir, LAST_CHECKPOINT)
    if not osp.isfile(record):
        return None
    with open(record) as f:
        name = f.read().strip()
    if not name:
        return None
    if not osp.isabs(name):
        return osp.join(work_dir, name)
    own = osp.join(work_dir, osp.basename(name))
    return own if osp.isfile(own) else name
