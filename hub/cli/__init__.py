"""The `hub` command. Output is written for the people who run it; `--json` for scripts.

Each module here adds its own subcommands (`add_commands`); `main` only assembles them.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from sqlalchemy.exc import OperationalError

from hub.cli import documents, exceptions, files, outbox, partners, reports, serve, setup, tokens, versions
from hub.errors import HubError

COMMAND_MODULES = (setup, files, documents, exceptions, partners, versions, outbox, reports, tokens, serve)


def main(argv: list[str] | None = None) -> int:
    # asyncssh still supports DSA host keys, and importing it makes `cryptography` warn about that
    # on every start: ten lines of a library's deprecation in an operator's log, about nothing they run
    warnings.filterwarnings("ignore", message="DSA is deprecated")
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except HubError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:  # the ledger's or the ERP's database is down or unreachable
        reason = str(exc.orig or exc).strip().splitlines()[0]
        print(f"error: the database cannot be reached ({reason}); check HUB_DATABASE_URL and HUB_ERP_DATABASE_URL"
              " and that the server is running, then run the command again", file=sys.stderr)
        return 3
    except BrokenPipeError:  # the reader went away (`hub ... | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="hub", description="Integration hub and EDI gateway for wholesale distributors.")
    sub = root.add_subparsers(required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_commands(sub)
    return root
