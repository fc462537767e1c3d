"""The SFTP channel: each partner logs in as itself, uploads into `inbox/` and picks up from `outbox/`."""

from adapters.sftp.server import SftpListener


def register(registry) -> None:
    registry.add_listener("sftp", SftpListener)
