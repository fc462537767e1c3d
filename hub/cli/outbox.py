"""`hub outbox`: what we send partners, where each file stands, and sending files again."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

from hub.config import Settings
from hub.errors import HubError
from hub.ledger.tables import OUTBOX_STATUSES
from hub.timespan import utc

# what each status means, for people
STATUS_WORDS = {
    "pending": "waiting to be delivered",
    "ready": "in the partner's pickup folder, not yet taken",
    "delivered": "delivered",
    "dead": "not delivered; every attempt failed",
}


def add_commands(sub) -> None:
    outbox = sub.add_parser("outbox", help="outbound files: where each one stands, send again, deliver now")
    actions = outbox.add_subparsers(required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="outbound files, newest first")
    listing.add_argument("--partner", help="only this partner's files")
    listing.add_argument("--status", choices=OUTBOX_STATUSES, help="only files in this status")
    listing.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    listing.add_argument("--json", action="store_true", help="one JSON object per file")
    listing.set_defaults(run=cmd_list)

    show = actions.add_parser("show", help="one outbound file and every attempt to deliver it")
    show.add_argument("id", type=int, metavar="ID")
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=cmd_show)

    redeliver = actions.add_parser("redeliver", help="send files again: by id, or every dead file of a partner (--partner P --dead)")
    redeliver.add_argument("ids", nargs="*", type=int, metavar="ID", help="outbound file ids (hub outbox list shows them)")
    redeliver.add_argument("--partner", help="with --dead: the partner whose dead files to send again")
    redeliver.add_argument("--dead", action="store_true", help="every dead file of --partner")
    redeliver.set_defaults(run=cmd_redeliver)

    deliver = actions.add_parser("deliver", help="deliver every pending file now, pushes included, retrying as the service would")
    deliver.set_defaults(run=cmd_deliver)


def _ledger(settings: Settings):
    from hub.db import make_engine
    from hub.ledger.store import Ledger

    return Ledger(make_engine(settings.ledger_url))


def _dispatcher():
    from hub.delivery import Dispatcher
    from hub.registry import load_registry

    settings = Settings()
    return Dispatcher(settings, _ledger(settings), load_registry())


# -- list, show -------------------------------------------------------------------------------------


def cmd_list(args) -> int:
    files = _ledger(Settings()).outbox_files(args.partner, args.status, args.limit)
    if args.json:
        for row in files:
            print(json.dumps(_as_dict(row)))
        return 0
    if not files:
        print("no outbound files" + (f" for {args.partner}" if args.partner else "") + (f" {args.status}" if args.status else ""))
        return 0
    header = ("ID", "PARTNER", "KIND", "FILE", "STATUS", "TRIES", "CREATED (UTC)", "LAST ERROR")
    lines = [(str(r.id), r.partner_id, r.kind, r.filename, r.status, str(r.attempts), _when(r.created_at), r.last_error or "") for r in files]
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header) - 1)]
    for line in [header, *lines]:
        print(("  ".join(cell.ljust(width) for cell, width in zip(line, widths)) + "  " + line[-1]).rstrip())
    if len(files) == args.limit:
        print(f"(the newest {args.limit}; --limit shows more)")
    return 0


def cmd_show(args) -> int:
    ledger = _ledger(Settings())
    row = ledger.outbox_file(args.id)
    if row is None:
        raise HubError(f"there is no outbound file {args.id} (hub outbox list shows the files)")
    attempts = ledger.delivery_attempts(args.id)
    if args.json:
        print(json.dumps({**_as_dict(row), "delivery_attempts": [_attempt_dict(a) for a in attempts]}))
        return 0
    print(f"outbound file {row.id}: {row.kind} to {row.partner_id}, {row.filename} ({row.size} bytes)")
    print(f"  status:     {row.status} ({STATUS_WORDS.get(row.status, row.status)}), {row.attempts} attempt(s) this round")
    if row.last_error:
        print(f"  last error: {row.last_error}")
    print(f"  created:    {_when(row.created_at)} UTC")
    if row.delivered_at:
        print(f"  delivered:  {_when(row.delivered_at)} UTC")
    if row.interchange_id:
        print(f"  answers:    interchange {row.interchange_id}" + (f", document {row.document_id}" if row.document_id else ""))
    if row.status == "dead":
        print(f"  once the cause is fixed, send it again with: hub outbox redeliver {row.id}")
    if not attempts:
        print("no delivery attempts yet")
        return 0
    print("attempts:")
    for a in attempts:
        answer = f"HTTP {a.status_code}" if a.status_code else "-"
        line = f"  {_when(a.at)}  #{a.attempt}  {a.method:<6}  {a.outcome:<9}  {answer:<8}  {a.duration_ms:>7.0f} ms"
        print(line + (f"  {a.error}" if a.error else ""))
    return 0


def _as_dict(row) -> dict:
    return {"id": row.id, "partner": row.partner_id, "kind": row.kind, "filename": row.filename, "status": row.status,
            "attempts": row.attempts, "last_error": row.last_error, "size": row.size,
            "interchange_id": row.interchange_id, "document_id": row.document_id,
            "created_at": _iso(row.created_at), "delivered_at": _iso(row.delivered_at)}


def _attempt_dict(a) -> dict:
    return {"attempt": a.attempt, "method": a.method, "outcome": a.outcome, "status_code": a.status_code,
            "error": a.error, "duration_ms": round(a.duration_ms, 1), "at": _iso(a.at)}


def _when(moment: datetime | None) -> str:
    return utc(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _iso(moment: datetime | None) -> str | None:
    return utc(moment).isoformat() if moment else None


# -- redeliver, deliver -----------------------------------------------------------------------------


def cmd_redeliver(args) -> int:
    if args.dead != bool(args.partner) or (args.dead and args.ids):
        raise HubError("name the files to send again (hub outbox redeliver ID...), or a partner's dead files (--partner P --dead)")
    dispatcher = _dispatcher()
    ids = dispatcher.redeliver(args.ids, dead_of_partner=args.partner)
    if not ids:
        print(f"{args.partner} has no dead files")
        return 0
    directory = dispatcher.ledger.partner_directory()
    for outbox_id in ids:
        row = dispatcher.ledger.outbox_file(outbox_id)
        partner = directory.get(row.partner_id)
        print(f"{row.id} {row.filename} ({row.partner_id}): {_after_redelivery(row, partner)}")
    return 0


def _after_redelivery(row, partner) -> str:
    if row.status == "ready":
        return f"back in {row.partner_id}'s pickup folder"
    if row.status == "pending" and partner is not None and partner.delivery.method != "pickup":
        return f"queued to send again by {partner.delivery.method}; the running hub sends it, or run hub outbox deliver"
    return f"{row.status}: {row.last_error or STATUS_WORDS.get(row.status, '')}; hub outbox deliver tries again"


def cmd_deliver(args) -> int:
    dispatcher = _dispatcher()
    waiting = dispatcher.ledger.outbox_files(status="pending")
    if not waiting:
        print("nothing to deliver: no file is pending")
        return 0
    partners = sorted({row.partner_id for row in waiting})
    print(f"delivering {len(waiting)} file(s) to {', '.join(partners)}; a partner that does not answer is tried again, which can take a while")
    results = asyncio.run(dispatcher.drain())
    for result in results:
        print(f"{result.outbox_id} {result.filename} ({result.partner_id}): {_outcome(result)}")
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    print(", ".join(f"{counts[s]} {s}" for s in OUTBOX_STATUSES if s in counts))
    return 1 if counts.get("dead") else 0


def _outcome(result) -> str:
    tries = f"{result.attempts} attempt{'s' if result.attempts != 1 else ''}"
    if result.status == "delivered":
        answer = f" (HTTP {result.status_code})" if result.status_code else ""
        return f"delivered{answer} after {tries}"
    if result.status == "ready":
        return "in the partner's pickup folder"
    if result.status == "dead":
        return f"dead after {tries}: {result.error}; once fixed, hub outbox redeliver {result.outbox_id}"
    return f"{result.status} after {tries}: {result.error}"
