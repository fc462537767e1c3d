"""Who a person at the shell is, for the audit log: `cli:<login>`. Shell access to the hub's
databases is access to everything, so the role is admin."""

from __future__ import annotations

import getpass

from hub.auth import Actor


def shell_actor() -> Actor:
    return Actor(f"cli:{getpass.getuser()}", "admin")
