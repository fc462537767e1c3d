"""A partner's SFTP tree, resolved by name alone: `/`, `/inbox` (upload) and `/outbox` (pickup).

Nothing here touches the file system. A partner's root maps to nothing real, `inbox/` is a
write-only drop (its files go to the ledger as they are closed) and only `outbox/NAME` is later
mapped to a real file, by the session, under the partner's own outbox folder. So `..` above the
root, absolute paths (`/etc/passwd`), another partner's folder and subfolders are refused here,
before any real path exists, and links never come into it.
"""

from __future__ import annotations

from dataclasses import dataclass

from asyncssh import SFTPNoSuchFile, SFTPPermissionDenied

INBOX, OUTBOX = "inbox", "outbox"
FOLDERS = (INBOX, OUTBOX)
MAX_NAME_LENGTH = 255
YOUR_FOLDERS = "your folders are /inbox (upload) and /outbox (pickup)"


@dataclass(frozen=True)
class VirtualPath:
    folder: str | None = None  # INBOX, OUTBOX, or None: the root
    name: str | None = None  # a file directly inside `folder`; None: the folder itself

    @property
    def is_folder(self) -> bool:
        return self.name is None

    def __str__(self) -> str:
        return "/" + "/".join(part for part in (self.folder, self.name) if part)


ROOT = VirtualPath()


def resolve(raw: bytes) -> VirtualPath:
    """The virtual path a client's path names, relative ones from `/`; raises an SFTP error if none."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SFTPNoSuchFile("file names must be UTF-8 text") from None
    if "\0" in text:
        raise SFTPNoSuchFile("file names cannot contain a NUL character")
    parts: list[str] = []
    for part in text.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise SFTPPermissionDenied(f"{text}: that is outside your folders; {YOUR_FOLDERS}")
            parts.pop()
            continue
        parts.append(part)
    if not parts:
        return ROOT
    if len(parts) == 1 and parts[0] not in FOLDERS:
        return VirtualPath(None, _file_name(parts[0], text))  # a file in the root: there never is one
    folder, *rest = parts
    if folder not in FOLDERS:
        raise SFTPNoSuchFile(f"{text}: no such folder; {YOUR_FOLDERS}")
    if len(rest) > 1:
        raise SFTPNoSuchFile(f"{text}: {folder}/ has no subfolders")
    return VirtualPath(folder, _file_name(rest[0], text) if rest else None)


def _file_name(name: str, text: str) -> str:
    if name.startswith("."):
        raise SFTPNoSuchFile(f"{text}: names starting with '.' are not used here")
    if len(name) > MAX_NAME_LENGTH:
        raise SFTPNoSuchFile(f"{text}: file names are at most {MAX_NAME_LENGTH} characters")
    return name
