"""`hub documents`: what came in (each received file with its ledger id) and where each document stands."""

from __future__ import annotations

import json

from hub.config import Settings
from hub.ledger.tables import IN_FLIGHT_STATES, SETTLED_STATES


def add_commands(sub) -> None:
    documents = sub.add_parser("documents", help="received files, newest first, with the state of each document in them")
    documents.add_argument("--partner", help="only files from this partner")
    documents.add_argument("--state", choices=IN_FLIGHT_STATES + SETTLED_STATES, help="only files with a document in this state")
    documents.add_argument("--limit", type=int, default=50, help="how many files (default 50)")
    documents.add_argument("--json", action="store_true", help="one JSON object per file")
    documents.set_defaults(run=cmd_documents)


def cmd_documents(args) -> int:
    from hub.db import make_engine
    from hub.ledger.store import Ledger

    ledger = Ledger(make_engine(Settings().ledger_url))
    files = ledger.received_files(partner_id=args.partner, state=args.state, limit=args.limit)
    if not files:
        print(f"no files received{' from ' + args.partner if args.partner else ''}")
    for file in files:
        if args.json:
            print(json.dumps(_plain(file)))
        else:
            _print_file(file)
    return 0


def _print_file(file: dict) -> None:
    name = file["filename"] or f"({file['channel']} upload)"
    print(f"#{file['id']}  {file['received_at']:%Y-%m-%d %H:%M:%S}  {file['partner_id'] or 'unknown sender'}  {file['channel']}  {name}  "
          f"{file['size']:,} bytes  {file['status']}")
    if file["duplicate_of"]:
        print(f"    same as file #{file['duplicate_of']}; not processed again")
    for problem in file["problems"] or []:
        print(f"    {problem['message']}" + (f" ({problem['where']})" if problem.get("where") else ""))
    for doc in file["documents"]:
        line = f"    document {doc['id']}: {doc['doc_type']} {doc['reference'] or ''} -> {doc['state']}"
        if doc["erp_ref"]:
            line += f" as {doc['erp_ref']}"
        if doc["total"]:
            line += f" ({doc['total']})"
        if doc["holds"]:
            line += f" holds: {', '.join(doc['holds'])}"
        print(line)
    if file["status"] == "received":
        print("    waiting for a worker")


def _plain(file: dict) -> dict:
    """The file and its documents as JSON can hold them (times as ISO 8601)."""
    return {**file, "received_at": file["received_at"].isoformat()}
