"""Several `dotdo` processes in one project at once (`dotdo dev` re-vendoring while `dotdo
test` starts its runtime): one lock per project around whatever writes, or reads whole,
the local runtime's shared folders, and a folder replaced in one step.

The lock is an `flock(2)` on `.dotdo/localrt.lock`: held by the open file, so a process
killed with `kill -9` never leaves it taken. The JavaScript side (`js/server.mjs`, while it
builds the host and wrangler reads it) takes the same lock through a Python child that
locks a descriptor the two processes share. `python_modules/` is replaced with Linux's
`renameat2(RENAME_EXCHANGE)` (one atomic step: a reader of the path sees the whole old
tree or the whole new one) where the file system offers it, else with two renames.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

__all__ = ["claimed_fd", "locked", "project_lock", "replace_dir", "retired_dir"]

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
"""From `<linux/fs.h>`: swap the two paths atomically (renameat2(2), Linux 3.15)."""


def project_lock(root: Path) -> Path:
    """The lock file of the project in `root`: `<root>/.dotdo/localrt.lock` (`js/server.mjs`
    is given it: `--lock-file`)."""
    return root / ".dotdo" / "localrt.lock"


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the exclusive `flock` on `path` (created if missing) while the block runs,
    waiting for any other holder. Not reentrant: a thread that holds it and asks again waits
    for itself."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _flocked(path, fcntl.LOCK_EX)
    try:
        yield
    finally:
        os.close(fd)  # releases the lock


def claimed_fd(path: Path) -> int | None:
    """A descriptor of `path` (created if missing, its folder existing) holding its
    exclusive `flock`, or None when another process holds it: no wait. For a lock whose
    holder removes its file on release (`localrt.server.claim_host`): the descriptor is of
    the file still at `path`, never of one removed after it was opened."""
    while True:
        try:
            fd = _flocked(path, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # its last holder removed it after we opened it: claim the new file


def _flocked(path: Path, operation: int) -> int:
    """A new descriptor of `path` (created if missing) holding the `flock` `operation`
    asks (`LOCK_EX`: waiting for another holder; with `LOCK_NB`: BlockingIOError when there
    is one). The one place dotdo opens and flocks a file: the lock is held by the open file,
    so closing the descriptor, or the process ending (`kill -9` too), releases it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, operation)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _exchange(first: Path, second: Path) -> bool:
    """Swap two existing paths in one step; False where the system cannot (not Linux, an
    old libc, a file system without RENAME_EXCHANGE)."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in {errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP}:
        return False
    raise OSError(code, os.strerror(code), str(second))


def retired_dir(target: Path) -> Path:
    """Where `replace_dir` keeps the old tree of `target` between its two renames."""
    return target.with_name(f".{target.name}-retired")


def replace_dir(staging: Path, target: Path) -> None:
    """Put the complete folder `staging` at `target` (a folder, or nothing yet) and remove
    the old tree; call it holding `locked`, `staging` beside `target` (one file system).

    With an atomic exchange `target` always holds a whole tree. Without one there is a
    moment with no `target`, and a crash just then leaves the old tree at
    `.<name>-retired` beside it: the next call puts it back first, so it stays usable.
    That name is outside every staging prefix (`.<name>.`), so a caller clearing stale
    staging folders never takes it for one."""
    retired = retired_dir(target)
    if not target.exists() and retired.is_dir():
        retired.rename(target)
    shutil.rmtree(retired, ignore_errors=True)
    if target.is_dir() and not target.is_symlink() and _exchange(staging, target):
        shutil.rmtree(staging, ignore_errors=True)  # the old tree, now
        return
    if target.exists() or target.is_symlink():
        target.rename(retired)
    staging.rename(target)
    shutil.rmtree(retired, ignore_errors=True)
