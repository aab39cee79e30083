"""Safe file access for config.toml: bounded reads of regular files, a save lock, checked
atomic replaces.

- Only regular files (or symlinks to one) are read or written: a device, FIFO or socket is
  refused before anything is read (FIFOs are opened non-blocking), and at most 1 MiB is read.
- Saves hold an exclusive ``flock`` on ``.NAME.lock`` beside the file (created 0600), so two
  savers never interleave their read → check → replace.
- A save replaces the file by rename, which would bypass the file's own permissions: it is
  refused for a file that is read-only, belongs to another user, or has other hard links.
- Temp files of a save that was killed are removed by the next save (under the lock, no
  other save is running, so every temp file of our naming is stale).
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks
    fcntl = None  # type: ignore[assignment]

MAX_SIZE = 1 << 20
NEW_DIR_MODE = 0o700
_LOCK_MODE = 0o600


class ConfigError(Exception):
    """A config file problem; ``str(e)`` is one clear user-facing sentence."""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
                       (stat.S_ISFIFO, "FIFO (named pipe)"), (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name
    return "special file"


def _check_regular(path: Path, st: os.stat_result) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise ConfigError(f"cannot read {path}: it is a directory, not a file.")
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"cannot use {path}: it is a {_kind(st.st_mode)}, not a regular "
                          "file; llm-settings only reads and writes regular files.")
    if st.st_size > MAX_SIZE:
        raise ConfigError(f"cannot read {path}: it is larger than 1 MiB "
                          f"({st.st_size} bytes), too large for a config.toml.")


def read_regular(path: Path) -> tuple[bytes, os.stat_result] | None:
    """Bytes and stat of the regular file ``path``; None if missing; ConfigError otherwise."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | \
        getattr(os, "O_CLOEXEC", 0)
    try:
        _check_regular(path, os.stat(path))  # refuse devices before opening them
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except PermissionError as e:
        raise ConfigError(f"cannot read {path}: permission denied.") from e
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror or e}.") from e
    try:
        st = os.fstat(fd)
        _check_regular(path, st)  # the same file that was opened
        chunks = []
        size = 0
        while size <= MAX_SIZE:
            chunk = os.read(fd, MAX_SIZE + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_SIZE:
            raise ConfigError(f"cannot read {path}: it is larger than 1 MiB, too large for a "
                              "config.toml.")
        return b"".join(chunks), st
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror or e}.") from e
    finally:
        os.close(fd)


def lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.lock"


@contextlib.contextmanager
def locked(target: Path, timeout: float, create_folder: bool) -> Iterator[str | None]:
    """Hold the save lock of ``target``; yields None, or why the lock could not be taken
    (a folder that is missing or not writable: then nothing can be written there anyway)."""
    if fcntl is None:
        yield None
        return
    folder = target.parent
    if create_folder:
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=NEW_DIR_MODE)
        except OSError as e:
            raise ConfigError(f"cannot write {target}: {e.strerror or e}; the file was not "
                              "changed.") from e
    lock = lock_path(target)
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) |
                     getattr(os, "O_CLOEXEC", 0), _LOCK_MODE)
    except OSError as e:
        yield f"cannot create the lock file {lock}: {e.strerror or e}"
        return
    try:
        deadline = time.monotonic() + timeout
        delay = 0.005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise ConfigError(
                        f"another program is saving {target} (it has held {lock} for "
                        f"{timeout:g} s); nothing was written, try again.") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
        yield None
    finally:
        os.close(fd)  # releases the lock


def check_replaceable(target: Path, st: os.stat_result) -> None:
    """Refuse to replace a file its user could not write in place (even as root)."""
    if st.st_nlink > 1:
        raise ConfigError(
            f"{target} has {st.st_nlink} hard links; saving replaces the file, which would "
            "split the hard link, so nothing was written (remove the other links first).")
    if not hasattr(os, "geteuid"):
        return
    if st.st_uid != os.geteuid():
        raise ConfigError(
            f"{target} belongs to another user (uid {st.st_uid}); saving would replace it "
            "with a file of yours, so nothing was written.")
    if not st.st_mode & stat.S_IWUSR:
        raise ConfigError(
            f"{target} is read-only (mode {stat.S_IMODE(st.st_mode):04o}), so nothing was "
            "written; make it writable first (chmod u+w).")


def remove_stale_temps(target: Path) -> None:
    """Remove temp files of earlier saves of ``target`` (only call it holding the lock)."""
    pattern = re.compile(re.escape(f".{target.name}.") + r"[a-z0-9_]{8}\.tmp")
    uid = os.geteuid() if hasattr(os, "geteuid") else None
    with contextlib.suppress(OSError), os.scandir(target.parent) as entries:
        for entry in entries:
            if not pattern.fullmatch(entry.name):
                continue
            with contextlib.suppress(OSError):
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(st.st_mode) and (uid is None or st.st_uid == uid):
                    os.unlink(entry.path)


def write_atomic(target: Path, raw: bytes, mode: int, owner: tuple[int, int] | None) -> None:
    """Write ``raw`` to ``target`` via a temp file + fsync + os.replace."""
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=NEW_DIR_MODE)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as e:
        raise ConfigError(f"cannot write {target}: {e.strerror or e}; the file was not changed.") \
            from e
    try:
        with os.fdopen(fd, "wb") as f:
            if hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), mode)
            else:  # Windows
                os.chmod(tmp, mode)
            if owner is not None and hasattr(os, "fchown"):
                with contextlib.suppress(OSError):
                    os.fchown(f.fileno(), *owner)
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise ConfigError(
                f"cannot write {target}: {e.strerror or e}; the file was not changed."
            ) from e
        raise
    with contextlib.suppress(OSError, AttributeError):
        dfd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
