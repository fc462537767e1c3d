"""`hub exceptions ...` and `hub reprocess`: the exception queues and held or rejected documents,
worked from the shell (hub.document_actions does the work; the API offers the same)."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from hub.cli.files import make_hub
from hub.cli.operator import shell_actor
from hub.config import Settings
from hub.document_actions import ACTIONS
from hub.errors import HubError


def add_commands(sub) -> None:
    exceptions = sub.add_parser("exceptions", help="exception queues: list, assign, resolve")
    verbs = exceptions.add_subparsers(required=True, metavar="ACTION")

    listing = verbs.add_parser("list", help="exceptions, most urgent first")
    listing.add_argument("--queue")
    listing.add_argument("--status", choices=("open", "resolved"), default="open")
    listing.add_argument("--assignee")
    listing.add_argument("--overdue", action="store_true", help="only those past their due time")
    listing.add_argument("--json", action="store_true", help="one JSON object per exception")
    listing.set_defaults(run=cmd_list)

    assign = verbs.add_parser("assign", help="give an exception to someone (--nobody to take it back)")
    assign.add_argument("exception", type=int)
    who = assign.add_mutually_exclusive_group(required=True)
    who.add_argument("assignee", nargs="?")
    who.add_argument("--nobody", action="store_true")
    assign.set_defaults(run=cmd_assign)

    resolve = verbs.add_parser("resolve", help="resolve with an action; the document goes on from where it stopped")
    resolve.add_argument("exception", type=int)
    resolve.add_argument("action", choices=list(ACTIONS))
    resolve.add_argument("--price", action="append", default=[], metavar="LINE=PRICE",
                         help="override_price: book order line LINE at PRICE (repeat; default: the customer's own prices)")
    resolve.add_argument("--note", help="why, for the audit log and the exception's resolution")
    resolve.add_argument("--json", action="store_true")
    resolve.set_defaults(run=cmd_resolve)

    reprocess = sub.add_parser("reprocess", help="run held or rejected documents again (after a mapping or rule fix)")
    reprocess.add_argument("documents", nargs="*", type=int, metavar="DOCUMENT_ID")
    reprocess.add_argument("--partner", help="every document of this partner in --state")
    reprocess.add_argument("--state", choices=("held", "rejected"), help="with --partner (default rejected)")
    reprocess.add_argument("--json", action="store_true")
    reprocess.set_defaults(run=cmd_reprocess)


def cmd_list(args) -> int:
    from hub.db import make_engine
    from hub.document_actions import exceptions

    found = exceptions(make_engine(Settings().ledger_url), args.queue, args.status, args.assignee, overdue=True if args.overdue else None)
    for row in found:
        if args.json:
            print(json.dumps(row, default=str))
            continue
        late = "OVERDUE " if row["overdue"] else ""
        who = f" [{row['assignee']}]" if row["assignee"] else ""
        print(f"#{row['id']}  P{row['priority']}  {row['queue']:<16} {row['code']:<18} {late}due {row['due_at']:%Y-%m-%d %H:%M}"
              f"  age {row['age_hours']:g} h  {row['partner_id']} {row['doc_type']} {row['reference'] or ''} (document {row['document_id']}){who}")
        print(f"      {row['message']}" + (f"\n      resolved: {row['resolution']}" if row["resolution"] else ""))
    if not found and not args.json:
        print(f"no {args.status} exceptions" + (f" in queue {args.queue}" if args.queue else ""))
    return 0


def cmd_assign(args) -> int:
    from hub.db import make_engine
    from hub.document_actions import assign

    row = assign(make_engine(Settings().ledger_url), args.exception, None if args.nobody else args.assignee, shell_actor())
    print(f"exception {row['id']} ({row['code']}) is assigned to {row['assignee'] or 'nobody'}")
    return 0


def cmd_resolve(args) -> int:
    from hub.document_actions import resolve

    done = resolve(make_hub(), args.exception, args.action, shell_actor(), _prices(args.price), args.note)
    if args.json:
        print(json.dumps(done, default=str))
        return 0
    exception, document = done["exception"], done["document"]
    print(f"exception {exception['id']} ({exception['code']}): {exception['status']}"
          + (f" - {exception['resolution']}" if exception["resolution"] else " - the document is still held for it"))
    _print_document(document)
    return 0


def cmd_reprocess(args) -> int:
    from hub.db import make_engine
    from hub.document_actions import chosen_documents, reprocess

    ids = chosen_documents(make_engine(Settings().ledger_url), args.documents, args.partner, args.state)
    if not ids:
        raise HubError("name documents by id, or choose them with --partner/--state")
    for result in reprocess(make_hub(), ids, shell_actor()):
        if args.json:
            print(json.dumps(result, default=str))
        elif "error" in result:
            print(f"document {result['document_id']}: not run: {result['error']}")
        else:
            _print_document(result)
    return 0


def _print_document(document: dict) -> None:
    holds = f" holds {', '.join(document['holds'])}" if document["holds"] else ""
    erp = f" as {document['erp_ref']}" if document["erp_ref"] else ""
    print(f"document {document['document_id']} ({document['partner']} {document['type']} {document['reference'] or ''}): {document['state']}{erp}{holds}")
    for error in document["errors"]:
        print(f"      {error}")


def _prices(pairs: list[str]) -> dict[int, Decimal] | None:
    prices = {}
    for pair in pairs:
        line, _, price = pair.partition("=")
        try:
            prices[int(line)] = Decimal(price)
        except (ValueError, InvalidOperation):
            raise HubError(f"--price {pair!r}: write LINE=PRICE, e.g. --price 1=140.00") from None
    return prices or None
