"""Crash-safe file writes: write a temporary file next to the target, flush it to disk, rename.

``os.replace`` is atomic on POSIX and Windows file systems, so a reader (or a run resumed after
a crash) sees either the complete old file or the complete new one, never a truncated one.
"""
import glob
import os
import os.path as osp
from typing import List

PART_SUFFIX = '.part'
"""Suffix of files being written; a leftover one is the trace of a crash during a write."""


def part_path(path: str) -> str:
    """The temporary name ``path`` is written under before it is renamed into place."""
    return path + PART_SUFFIX


def fsync_file(path: str) -> None:
    """Flush ``path``'s data to the disk (a rename alone does not order data before metadata)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: str) -> None:
    """Flush a directory entry change (the rename) to disk; a no-op where unsupported."""
    try:
        fd = os.open(folder or '.', os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def commit(tmp_path: str, path: str) -> None:
    """Move the finished ``tmp_path`` onto ``path`` atomically and durably."""
    fsync_file(tmp_path)
    os.replace(tmp_path, path)
    fsync_dir(osp.dirname(path))


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves the previous content intact.

    A write that fails with an exception (``ENOSPC`` ...) removes its ``.part`` file and
    re-raises; only a killed process leaves one (``remove_stale_parts`` cleans it up).
    """
    tmp = part_path(path)
    try:
        with open(tmp, 'wb') as f:
            f.write(data)
        commit(tmp, path)
    except Exception:  # a full disk, a lost mount ...: no half-written file stays behind
        remove_quietly(tmp)
        raise


def remove_quietly(path: str) -> None:
    """Delete ``path`` if it exists; errors (already gone, read-only) are ignored."""
    try:
        os.remove(path)
    except OSError:
        pass


def atomic_write_text(path: str, text: str) -> None:
    """Text version of :func:`atomic_write_bytes` (UTF-8)."""
    atomic_write_bytes(path, text.encode('utf-8'))


def remove_stale_parts(folder: str) -> List[str]:
    """Delete ``*.part`` files a crashed write left in ``folder``; return their paths."""
    removed = []
    for path in sorted(glob.glob(osp.join(glob.escape(folder), '*' + PART_SUFFIX))):
        try:
            os.remove(path)
            removed.append(path)
        except OSError:
            pass
    return removed


def atomic_torch_save(obj: object, path: str) -> None:
    """``torch.save(obj, path)`` through :func:`atomic_write_bytes` (same crash guarantees).

    The object is serialised in memory first, so the file on disk is only ever the complete old
    or the complete new checkpoint; missing parent folders are created.
    """
    import io

    import torch
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getbuffer())
