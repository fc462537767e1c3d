"""`hub token ...`: bearer tokens for the HTTP API (create prints the token once)."""

from __future__ import annotations

from hub.auth import ROLES, create_token, list_tokens, revoke_token
from hub.config import Settings
from hub.db import make_engine


def add_commands(sub) -> None:
    token = sub.add_parser("token", help="API tokens: create, list, revoke")
    verbs = token.add_subparsers(required=True, metavar="ACTION")

    create = verbs.add_parser("create", help="make a token for a person or system and print it once")
    create.add_argument("--name", required=True, help="who holds it (shown in the audit log), e.g. alice or erp-sync")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--partner", help="for --role partner: the partner whose webhook it may post to")
    create.set_defaults(run=cmd_create)

    listing = verbs.add_parser("list", help="every token's name, role and state (never the token)")
    listing.set_defaults(run=cmd_list)

    revoke = verbs.add_parser("revoke", help="stop accepting a token at once")
    revoke.add_argument("name")
    revoke.set_defaults(run=cmd_revoke)


def cmd_create(args) -> int:
    token = create_token(make_engine(Settings().ledger_url), args.name, args.role, args.partner)
    print(token)
    print(f"token {args.name!r} ({args.role}) created; it is shown only this once", flush=True)
    return 0


def cmd_list(_args) -> int:
    tokens = list_tokens(make_engine(Settings().ledger_url))
    for row in tokens:
        state = f"revoked {row['revoked_at']:%Y-%m-%d %H:%M}" if row["revoked_at"] else "live"
        partner = f" for {row['partner_id']}" if row["partner_id"] else ""
        print(f"{row['name']:<24} {row['role']:<12}{partner} {state}, created {row['created_at']:%Y-%m-%d %H:%M}")
    if not tokens:
        print("no tokens yet: hub token create --name NAME --role ROLE")
    return 0


def cmd_revoke(args) -> int:
    revoke_token(make_engine(Settings().ledger_url), args.name)
    print(f"token {args.name!r} revoked")
    return 0
