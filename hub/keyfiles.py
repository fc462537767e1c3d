"""Key files the hub makes for itself on first start (its secret key, the SFTP host key)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def made_once(path: Path, make: Callable[[], bytes]) -> bytes:
    """The contents of `path`; if it is missing, `make()` is written there, readable by its owner
    only. Safe when two processes start at once: the first one's key is kept by both."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(make())
        try:
            os.link(draft, path)  # fails if another process made it first; theirs is kept
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_bytes()
