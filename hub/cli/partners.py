"""`hub partner ...`: what an integration analyst sets up when onboarding a partner.
Every change is audited as `cli:<login>` (hub.partner_changes).

SFTP password and keys, the webhook secret, how outbound files reach the partner. `show` says what
is set and never prints a secret; `secret` prints the new secret once, to hand to the partner.
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

from pydantic import ValidationError

from hub.cli.operator import shell_actor
from hub.config import Settings
from hub.partner_changes import change_partner, credential_audit
from hub.errors import HubError


def add_commands(sub) -> None:
    partner = sub.add_parser("partner", help="partner credentials and delivery: password, key, secret, delivery, show, list")
    verbs = partner.add_subparsers(required=True, metavar="ACTION")

    listing = verbs.add_parser("list", help="every partner with its role, channel and delivery")
    listing.set_defaults(run=cmd_list)

    show = verbs.add_parser("show", help="a partner's settings and which credentials are set (never the secrets)")
    show.add_argument("partner")
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=cmd_show)

    password = verbs.add_parser("password", help="set the partner's SFTP password (prompted twice, or one line on stdin)")
    password.add_argument("partner")
    password.add_argument("--stdin", action="store_true", help="read the password from standard input")
    password.set_defaults(run=cmd_password)

    key = verbs.add_parser("key", help="SFTP public keys: add FILE, remove FINGERPRINT")
    key_verbs = key.add_subparsers(required=True, metavar="ACTION")
    add = key_verbs.add_parser("add", help="authorize an OpenSSH public key (a .pub file, one key per line)")
    add.add_argument("partner")
    add.add_argument("file", type=Path)
    add.set_defaults(run=cmd_key_add)
    remove = key_verbs.add_parser("remove", help="stop accepting a key (its SHA256:... fingerprint, as `show` lists it)")
    remove.add_argument("partner")
    remove.add_argument("fingerprint")
    remove.set_defaults(run=cmd_key_remove)

    secret = verbs.add_parser("secret", help="create or rotate the webhook secret and print it once")
    secret.add_argument("partner")
    secret.set_defaults(run=cmd_secret)

    delivery = verbs.add_parser("delivery", help="how outbound files reach the partner: --pickup (SFTP outbox/) or --push URL")
    delivery.add_argument("partner")
    how = delivery.add_mutually_exclusive_group(required=True)
    how.add_argument("--pickup", action="store_true", help="leave files in the partner's SFTP outbox/ for pickup")
    how.add_argument("--push", metavar="URL", help="POST each file to this https URL, signed with the partner's webhook secret")
    delivery.add_argument("--attempts", type=int, help="push attempts before a file is dead-lettered (default HUB_DELIVERY_ATTEMPTS)")
    delivery.set_defaults(run=cmd_delivery)


def _stores():
    from hub.credentials import CredentialStore
    from hub.db import make_engine
    from hub.ledger.store import Ledger

    settings = Settings()
    engine = make_engine(settings.ledger_url)
    return Ledger(engine), CredentialStore.for_settings(settings, engine)


def _partner(ledger, partner_id: str):
    directory = ledger.partner_directory()
    partner = directory.get(partner_id)
    if partner is None:
        known = ", ".join(p.id for p in directory.partners) or "none (run hub init --seed)"
        raise HubError(f"no partner {partner_id}; partners are: {known}")
    return partner


def _delivery_text(partner) -> str:
    delivery = partner.delivery
    if delivery.method == "pickup":
        return "pickup from its SFTP outbox/"
    attempts = f", {delivery.attempts} attempts" if delivery.attempts else ""
    return f"push to {delivery.url}{attempts}"


def cmd_list(args) -> int:
    ledger, _ = _stores()
    for partner in ledger.partner_directory().partners:
        state = "" if partner.enabled else "  (disabled)"
        print(f"{partner.id:<12} {partner.role:<9} sends by {partner.channel or '-':<8} delivery: {_delivery_text(partner)}  {partner.name}{state}")
    return 0


def cmd_show(args) -> int:
    ledger, credentials = _stores()
    partner = _partner(ledger, args.partner)
    summary = credentials.summary(partner.id)
    if args.json:
        print(json.dumps({
            "id": partner.id, "name": partner.name, "role": partner.role, "enabled": partner.enabled,
            "channel": partner.channel, "delivery": partner.delivery.model_dump(),
            "sftp_password_set_at": _stamp(summary.password_set_at),
            "sftp_keys": [{"fingerprint": f, "comment": c, "added_at": _stamp(a)} for f, c, a in summary.keys],
            "webhook_secret_set_at": _stamp(summary.secret_set_at),
        }))
        return 0
    print(f"{partner.id}: {partner.name} ({partner.role}{'' if partner.enabled else ', disabled'})")
    print(f"  sends by:        {partner.channel or '-'} ({', '.join(partner.inbound) or 'nothing'})")
    print(f"  we send:         {', '.join(partner.outbound) or 'nothing'}; delivery: {_delivery_text(partner)}")
    print(f"  SFTP login:      user {partner.id}")
    print(f"  SFTP password:   {'set ' + _stamp(summary.password_set_at) if summary.password_set_at else 'not set'}")
    if summary.keys:
        for fingerprint, comment, added in summary.keys:
            print(f"  SFTP key:        {fingerprint} {comment or ''} (added {_stamp(added)})")
    else:
        print("  SFTP keys:       none")
    print(f"  webhook secret:  {'set ' + _stamp(summary.secret_set_at) if summary.secret_set_at else 'not set'}")
    return 0


def cmd_password(args) -> int:
    ledger, credentials = _stores()
    partner = _partner(ledger, args.partner)
    if args.stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"SFTP password for {partner.id}: ")
        if getpass.getpass("again: ") != password:
            raise HubError("the two passwords differ; nothing was changed")
    credentials.set_password(partner.id, password, credential_audit(shell_actor(), "partner.password", partner.id))
    print(f"SFTP password set for {partner.id} (user {partner.id})")
    return 0


def cmd_key_add(args) -> int:
    ledger, credentials = _stores()
    partner = _partner(ledger, args.partner)
    try:
        lines = [line for line in args.file.read_text().splitlines() if line.strip() and not line.startswith("#")]
    except (OSError, UnicodeDecodeError) as exc:
        raise HubError(f"cannot read {args.file}: {exc}") from exc
    if not lines:
        raise HubError(f"{args.file} has no public key in it")
    for line in lines:
        print(f"authorized for {partner.id}: {credentials.add_key(partner.id, line, credential_audit(shell_actor(), 'partner.key.add', partner.id))}")
    return 0


def cmd_key_remove(args) -> int:
    ledger, credentials = _stores()
    partner = _partner(ledger, args.partner)
    if not credentials.remove_key(partner.id, args.fingerprint, credential_audit(shell_actor(), "partner.key.remove", partner.id, removed=True)):
        raise HubError(f"{partner.id} has no key {args.fingerprint}; `hub partner show {partner.id}` lists its keys")
    print(f"key {args.fingerprint} of {partner.id} removed")
    return 0


def cmd_secret(args) -> int:
    ledger, credentials = _stores()
    partner = _partner(ledger, args.partner)
    secret = credentials.rotate_secret(partner.id, credential_audit(shell_actor(), "partner.webhook-secret", partner.id))
    print(secret)
    print(f"this is {partner.id}'s new webhook secret; it is shown only now, and the previous one no longer works", file=sys.stderr)
    return 0


def cmd_delivery(args) -> int:
    from hub.partners import Delivery

    ledger, _ = _stores()
    partner = _partner(ledger, args.partner)
    try:
        delivery = Delivery(method="pickup") if args.pickup else Delivery(method="https", url=args.push, attempts=args.attempts)
    except ValidationError as exc:
        raise HubError("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())) from None
    updated = change_partner(ledger, partner.id, shell_actor(), "partner.delivery", lambda p: p.model_copy(update={"delivery": delivery}))
    print(f"{partner.id}: delivery is now {_delivery_text(updated)}")
    return 0


def _stamp(moment) -> str | None:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else None
