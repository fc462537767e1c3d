"""A partner's real outbox folder (`<outbox dir>/<partner>/`), used without following any link.

The folder is opened with O_NOFOLLOW | O_DIRECTORY and every file relative to it with
O_NOFOLLOW, so neither a link in place of the folder nor one inside it leads anywhere. Only
regular files are there for the partner; names starting with '.' are files still being written
(`.NAME.part`, renamed when complete) and are never shown.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from asyncssh import SFTPNoSuchFile

_GONE = (errno.ENOENT, errno.ENOTDIR, errno.ELOOP)  # missing, or a link where a folder or file should be


class Download:
    """An outbox file open for reading."""

    def __init__(self, fd: int):
        self._fd = fd

    def read(self, offset: int, size: int) -> bytes:
        return os.pread(self._fd, size, offset)

    def stat(self) -> os.stat_result:
        return os.fstat(self._fd)

    def close(self) -> None:
        os.close(self._fd)


class PickupFolder:
    def __init__(self, path: Path):
        self.path = path

    def files(self) -> list[tuple[str, os.stat_result]]:
        """The files waiting for pickup, by name; none if the folder is not there (yet)."""
        found = []
        with self._folder() as folder:
            names = sorted(os.listdir(folder)) if folder is not None else []
            for name in names:
                if name.startswith("."):
                    continue
                try:
                    found.append((name, self._regular(name, folder)))
                except SFTPNoSuchFile:
                    continue
        return found

    def stat(self, name: str) -> os.stat_result:
        with self._folder() as folder:
            return self._regular(name, folder)

    def open(self, name: str) -> Download:
        with self._folder() as folder:
            if folder is None:
                raise self._no_file(name)
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder)
            except OSError as exc:
                raise self._no_file(name) if exc.errno in _GONE else exc from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise self._no_file(name)
        return Download(fd)

    def remove(self, name: str) -> None:
        with self._folder() as folder:
            self._regular(name, folder)
            os.unlink(name, dir_fd=folder)

    @contextmanager
    def _folder(self) -> Iterator[int | None]:
        """The folder's descriptor, or None when there is no folder (nothing was sent yet)."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno not in _GONE:
                raise
            fd = None
        try:
            yield fd
        finally:
            if fd is not None:
                os.close(fd)

    def _regular(self, name: str, folder: int | None) -> os.stat_result:
        if folder is None:
            raise self._no_file(name)
        try:
            found = os.stat(name, dir_fd=folder, follow_symlinks=False)
        except OSError as exc:
            raise self._no_file(name) if exc.errno in _GONE else exc from None
        if not stat.S_ISREG(found.st_mode):
            raise self._no_file(name)
        return found

    @staticmethod
    def _no_file(name: str) -> SFTPNoSuchFile:
        return SFTPNoSuchFile(f"no file /outbox/{name}")
