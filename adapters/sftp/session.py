"""One partner's SFTP session: `inbox/` to upload into, `outbox/` to pick answers up from.

- Upload: `inbox/NAME` is staged while the client writes; when the client closes it, the bytes
  are committed to the ledger (`Intake.receive`) before the close is answered, so a client that
  was told OK never loses a file. If that fails, the close is answered with a failure. The file
  does not stay in `inbox/`; the names and sizes this session took in are remembered, so a client
  that checks the size after uploading sees it. That check matters: paramiko ignores the answer
  to close, and its `put` learns that a file was not taken in only because `stat` then says there
  is no such file. An empty file is taken in like any other (the pipeline rejects it, saying so).
- A file still open when the client stops sending (the connection dropped, the client was
  killed) was never closed by it: it is discarded, nothing of it reaches the ledger.
- Pickup: `outbox/` lists, reads and deletes the partner's outbound files; a delete tells the
  ledger the file was picked up (delivered).
- Everything else (folders, renames, links, attribute changes, writing into outbox/) is refused
  with a message that says what to do instead. Only SFTP version 3 is spoken (what OpenSSH,
  paramiko, WinSCP and FileZilla use), and no request reaches asyncssh's default handlers, which
  would act on real paths.
"""

from __future__ import annotations

import asyncio
import logging
import stat
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from asyncssh import (
    FXF_READ,
    SFTPAttrs,
    SFTPFailure,
    SFTPName,
    SFTPNoSuchFile,
    SFTPOpUnsupported,
    SFTPPermissionDenied,
    SFTPServer,
    SSHServerChannel,
)
from asyncssh.stream import SSHServerStreamSession

from adapters.sftp.jail import INBOX, OUTBOX, ROOT, YOUR_FOLDERS, VirtualPath, resolve
from adapters.sftp.pickup import Download, PickupFolder
from adapters.sftp.staging import Upload
from hub.intake import Intake
from hub.ledger.store import Ledger

log = logging.getLogger("hub.sftp")

SFTP_VERSION = 3
PICKUP_ONLY = "outbox/ is for pickup; upload into inbox/"
UPLOAD_ONLY = "inbox/ is for upload only: files are taken in as soon as they are closed; answers come in outbox/"
NOT_KEPT = "uploads are taken in as soon as they are closed and do not stay in inbox/"


@dataclass(frozen=True)
class HubSide:
    """What the sessions of one listener share: where uploads go and where pickups come from."""

    intake: Intake
    ledger: Ledger
    outbox_dir: Path
    staging_dir: Path
    max_file_bytes: int


class SftpOnlySession(SSHServerStreamSession):
    """An SSH session that runs the SFTP subsystem and nothing else: no shell, exec, scp or other
    subsystem. It notes when the client stops sending (EOF, or the connection is lost), which tells
    the SFTP server that a file still open then was never closed by the client."""

    def __init__(self, hub: HubSide):
        super().__init__(None, lambda chan: PartnerSftp(chan, hub, lambda: self.client_gone), SFTP_VERSION)
        self.client_gone = False

    def eof_received(self) -> bool:
        self.client_gone = True  # also called when the connection is lost
        return super().eof_received()


class PartnerSftp(SFTPServer):
    def __init__(self, chan: SSHServerChannel, hub: HubSide, client_gone: Callable[[], bool]):
        super().__init__(chan)
        self.partner_id: str = chan.get_extra_info("username")
        self._hub = hub
        self._client_gone = client_gone
        self._pickup = PickupFolder(hub.outbox_dir / self.partner_id)
        self._uploaded: dict[str, int] = {}  # inbox name -> size, of what this session uploaded

    # -- files --------------------------------------------------------------------------------------

    def open(self, path: bytes, pflags: int, attrs: SFTPAttrs) -> Upload | Download:
        target = resolve(path)
        writing = bool(pflags & ~FXF_READ)  # write, append, create, truncate, exclusive
        if target.is_folder:
            raise SFTPFailure(f"{target} is a folder")
        if target.folder == OUTBOX:
            if writing:
                raise SFTPPermissionDenied(PICKUP_ONLY)
            return self._pickup.open(target.name)
        if target.folder == INBOX:
            if not writing:
                raise SFTPPermissionDenied(UPLOAD_ONLY)
            return Upload(self._hub.staging_dir, self.partner_id, target.name, self._hub.max_file_bytes)
        if writing:
            raise SFTPPermissionDenied(f"upload into inbox/: the top folder holds only inbox/ and outbox/ ({target})")
        raise SFTPNoSuchFile(f"no file {target}; {YOUR_FOLDERS}")

    def read(self, file_obj: Upload | Download, offset: int, size: int) -> bytes:
        if isinstance(file_obj, Upload):
            raise SFTPPermissionDenied(UPLOAD_ONLY)
        return file_obj.read(offset, size)

    def write(self, file_obj: Upload | Download, offset: int, data: bytes) -> int:
        if isinstance(file_obj, Download):
            raise SFTPPermissionDenied(PICKUP_ONLY)
        return file_obj.write(offset, data)

    async def close(self, file_obj: Upload | Download) -> None:
        if isinstance(file_obj, Download):
            file_obj.close()
            return
        upload = file_obj
        if self._client_gone():  # asyncssh closes what the client left open; never answered, never taken in
            if not upload.refused:
                log.warning("SFTP upload of inbox/%s by %s discarded: the client went away before closing it", upload.name, self.partner_id)
            upload.discard()
            return
        if upload.refused:
            raise SFTPFailure(upload.refused)
        try:
            receipt = await asyncio.to_thread(self._take_in, upload)
        except Exception:
            log.exception("SFTP upload of inbox/%s by %s could not be stored", upload.name, self.partner_id)
            raise SFTPFailure(f"inbox/{upload.name}: the hub could not store the file; send it again") from None
        finally:
            upload.discard()
        self._uploaded[upload.name] = upload.size
        same = f", the same bytes as interchange {receipt.duplicate_of} (duplicate)" if receipt.duplicate_of else ""
        log.info("SFTP upload from %s: inbox/%s, %d bytes, received as interchange %s%s",
                 self.partner_id, upload.name, upload.size, receipt.interchange_id, same)

    def _take_in(self, upload: Upload):
        return self._hub.intake.receive(upload.content(), self.partner_id, channel="sftp", filename=upload.name)

    def fstat(self, file_obj: Upload | Download) -> SFTPAttrs:
        if isinstance(file_obj, Upload):
            return _file_attrs(file_obj.size, time.time())
        found = file_obj.stat()
        return _file_attrs(found.st_size, found.st_mtime)

    def fsetstat(self, file_obj: Upload | Download, attrs: SFTPAttrs) -> None:
        """Times or modes a client sets on its upload (OpenSSH `put -p`) are accepted and not kept."""
        if isinstance(file_obj, Download):
            raise SFTPPermissionDenied(f"{PICKUP_ONLY}; its files' attributes cannot be changed")

    def fsync(self, file_obj: Upload | Download) -> None:
        """Nothing to do: an upload is made durable by the ledger when it is closed."""

    # -- names --------------------------------------------------------------------------------------

    def realpath(self, path: bytes) -> bytes:
        return str(resolve(path)).encode()

    def stat(self, path: bytes) -> SFTPAttrs:
        target = resolve(path)
        if target.is_folder:
            return _FOLDER
        if target.folder == OUTBOX:
            found = self._pickup.stat(target.name)
            return _file_attrs(found.st_size, found.st_mtime)
        if target.folder == INBOX and target.name in self._uploaded:
            return _file_attrs(self._uploaded[target.name], time.time())
        raise SFTPNoSuchFile(f"no file {target}; {NOT_KEPT if target.folder == INBOX else YOUR_FOLDERS}")

    lstat = stat  # there are no links here

    def scandir(self, path: bytes) -> AsyncIterator[SFTPName]:
        """Resolved when the folder is opened (an error answers the opendir); listed on readdir."""
        target = resolve(path)
        if not target.is_folder:
            raise SFTPFailure(f"{target} is not a folder")
        if target == ROOT:
            names = [(INBOX, _FOLDER), (OUTBOX, _FOLDER)]
        elif target.folder == OUTBOX:
            names = [(name, _file_attrs(found.st_size, found.st_mtime)) for name, found in self._pickup.files()]
        else:
            names = [(name, _file_attrs(size, time.time())) for name, size in self._uploaded.items()]
        return _listing(names)

    async def remove(self, path: bytes) -> None:
        target = resolve(path)
        if target.folder != OUTBOX or target.is_folder:
            kept = f"; {NOT_KEPT}" if target.folder == INBOX and target.name else ""
            raise SFTPPermissionDenied(f"{target}: only files in outbox/ can be deleted, to say they were picked up{kept}")
        self._pickup.stat(target.name)
        try:
            recorded = await asyncio.to_thread(self._hub.ledger.picked_up, self.partner_id, target.name)
        except Exception:
            log.exception("SFTP pickup of outbox/%s by %s could not be recorded", target.name, self.partner_id)
            raise SFTPFailure(f"{target}: the hub could not record the pickup; delete it again") from None
        self._pickup.remove(target.name)
        log.info("SFTP pickup: %s took outbox/%s%s", self.partner_id, target.name,
                 "" if recorded else " (no outbound file of that name was waiting; nothing recorded)")

    # -- refused ------------------------------------------------------------------------------------

    def mkdir(self, path: bytes, attrs: SFTPAttrs) -> None:
        raise SFTPPermissionDenied(_refusal(resolve(path), f"folders cannot be made here; {YOUR_FOLDERS}"))

    def rmdir(self, path: bytes) -> None:
        raise SFTPPermissionDenied(_refusal(resolve(path), f"folders cannot be removed here; {YOUR_FOLDERS}"))

    def rename(self, oldpath: bytes, newpath: bytes) -> None:
        resolve(oldpath)
        raise SFTPPermissionDenied(_refusal(resolve(newpath), "files cannot be renamed here: an upload is taken in when it is closed "
                                                              "(turn off upload to a temporary name in your client)"))

    posix_rename = rename

    def setstat(self, path: bytes, attrs: SFTPAttrs) -> None:
        """Times a client sets on what it just uploaded (WinSCP keeps timestamps) are accepted and not kept."""
        target = resolve(path)
        if target.folder == INBOX and target.name in self._uploaded:
            return
        raise SFTPPermissionDenied(_refusal(target, "attributes cannot be changed here"))

    lsetstat = setstat

    def symlink(self, oldpath: bytes, newpath: bytes) -> None:
        raise SFTPPermissionDenied("links cannot be made here")

    def link(self, oldpath: bytes, newpath: bytes) -> None:
        raise SFTPPermissionDenied("links cannot be made here")

    def readlink(self, path: bytes) -> bytes:
        raise SFTPNoSuchFile(f"{resolve(path)} is not a link; there are no links here")

    def statvfs(self, path: bytes) -> None:
        raise SFTPOpUnsupported("disk space is not reported here")

    def fstatvfs(self, file_obj: object) -> None:
        raise SFTPOpUnsupported("disk space is not reported here")

    def map_path(self, path: bytes) -> bytes:
        """Only asyncssh's default handlers map to real paths; none of them may run here."""
        raise SFTPOpUnsupported("not offered here")


def _refusal(target: VirtualPath, reason: str) -> str:
    """What to tell a client that tried to change something: in outbox/, that it is for pickup."""
    return f"{target}: {PICKUP_ONLY}" if target.folder == OUTBOX and not target.is_folder else f"{target}: {reason}"


def _file_attrs(size: int, mtime: float) -> SFTPAttrs:
    return SFTPAttrs(size=size, permissions=stat.S_IFREG | 0o644, atime=int(mtime), mtime=int(mtime))


_FOLDER = SFTPAttrs(permissions=stat.S_IFDIR | 0o755)


async def _listing(names: list[tuple[str, SFTPAttrs]]) -> AsyncIterator[SFTPName]:
    for name, attrs in names:
        yield SFTPName(name.encode(), attrs=attrs)
