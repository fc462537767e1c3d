"""`hub documents`: what came in (each received file with its ledger id) and where each document stands."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

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
    from hub.ledger import tables as t

    i, d = t.interchanges.c, t.documents.c
    files = select(i.id, i.partner_id, i.channel, i.filename, i.format, i.size, i.status, i.problems, i.duplicate_of, i.received_at)
    if args.partner:
        files = files.where(i.partner_id == args.partner)
    if args.state:
        files = files.where(i.id.in_(select(d.interchange_id).where(d.state == args.state)))
    engine = make_engine(Settings().ledger_url)
    with engine.connect() as conn:
        received = conn.execute(files.order_by(i.id.desc()).limit(args.limit)).all()
        inside = conn.execute(select(d.id, d.interchange_id, d.position, d.doc_type, d.reference, d.state, d.holds, d.erp_ref, d.total)
                              .where(d.interchange_id.in_([r.id for r in received])).order_by(d.interchange_id, d.position)).all()
    by_file: dict[int, list] = {}
    for row in inside:
        by_file.setdefault(row.interchange_id, []).append(row)
    if not received:
        print(f"no files received{' from ' + args.partner if args.partner else ''}")
    for row in received:
        docs = by_file.get(row.id, [])
        if args.json:
            print(json.dumps({**_plain(row._mapping), "documents": [_plain(doc._mapping) for doc in docs]}))
        else:
            _print_file(row, docs)
    return 0


def _print_file(row, docs) -> None:
    name = row.filename or f"({row.channel} upload)"
    print(f"#{row.id}  {row.received_at:%Y-%m-%d %H:%M:%S}  {row.partner_id or 'unknown sender'}  {row.channel}  {name}  "
          f"{row.size:,} bytes  {row.status}")
    if row.duplicate_of:
        print(f"    same as file #{row.duplicate_of}; not processed again")
    for problem in row.problems or []:
        print(f"    {problem['message']}" + (f" ({problem['where']})" if problem.get("where") else ""))
    for doc in docs:
        line = f"    document {doc.id}: {doc.doc_type} {doc.reference or ''} -> {doc.state}"
        if doc.erp_ref:
            line += f" as {doc.erp_ref}"
        if doc.total:
            line += f" ({doc.total})"
        if doc.holds:
            line += f" holds: {', '.join(doc.holds)}"
        print(line)
    if row.status == "received":
        print("    waiting for a worker")


def _plain(mapping) -> dict:
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in mapping.items()}
