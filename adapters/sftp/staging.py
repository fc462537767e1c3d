"""Files being uploaded into a partner's `inbox/`, held in `<data dir>/sftp-staging/` until closed.

A client writes at offsets (several writes in flight, in any order), so an upload is a real
temporary file, owner-only. A write that would take it over the size limit discards it at once:
the rest of that upload is refused and nothing of it reaches the ledger.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from asyncssh import SFTPFailure


class Upload:
    def __init__(self, folder: Path, partner_id: str, name: str, max_bytes: int):
        self.partner_id = partner_id
        self.name = name
        self.max_bytes = max_bytes
        self.size = 0
        self.refused: str | None = None  # why the upload was discarded
        fd, path = tempfile.mkstemp(dir=folder, prefix=f"{partner_id}-", suffix=".upload")
        self._fd: int | None = fd
        self._path = Path(path)

    def write(self, offset: int, data: bytes) -> int:
        if self.refused:
            raise SFTPFailure(self.refused)
        end = offset + len(data)
        if end > self.max_bytes:
            self.discard(f"inbox/{self.name}: the file is over the limit of {self.max_bytes} bytes; nothing of it was taken in")
            raise SFTPFailure(self.refused)
        os.pwrite(self._fd, data, offset)
        self.size = max(self.size, end)
        return len(data)

    def content(self) -> bytes:
        """Every byte written, once the client has closed the file (a blocking read)."""
        self._close_fd()
        return self._path.read_bytes()

    def discard(self, reason: str | None = None) -> None:
        """Forget the upload and delete its staging file; `reason` refuses what the client does next."""
        self.refused = self.refused or reason
        self._close_fd()
        self._path.unlink(missing_ok=True)

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def staging_folder(data_dir: Path) -> Path:
    return data_dir / "sftp-staging"


def clear_staging(folder: Path) -> int:
    """Delete uploads a crash left behind (none of them was answered OK); returns how many."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    left = [path for path in folder.iterdir() if path.name.endswith(".upload")]
    for path in left:
        path.unlink(missing_ok=True)
    return len(left)
