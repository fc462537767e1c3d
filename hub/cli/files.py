"""`hub ingest`, `hub resume`, `hub status`: run files by hand and see where things stand."""

from __future__ import annotations

import json
from pathlib import Path

from hub.config import Settings


def add_commands(sub) -> None:
    ingest = sub.add_parser("ingest", help="receive files as drop-offs and run each to a settled state")
    ingest.add_argument("files", nargs="+", type=Path, metavar="FILE")
    ingest.add_argument("--partner", help="the sender, for formats that do not name it (CSV, JSON, XML)")
    ingest.add_argument("--json", action="store_true", help="print one JSON object per document")
    ingest.set_defaults(run=cmd_ingest)

    resume = sub.add_parser("resume", help="run files that were received but not settled (after a crash)")
    resume.add_argument("--json", action="store_true")
    resume.set_defaults(run=cmd_resume)

    status = sub.add_parser("status", help="documents per state and open exceptions per queue")
    status.set_defaults(run=cmd_status)


def make_hub(settings: Settings | None = None):
    from hub.pipeline import Hub  # heavy imports only for commands that run documents

    return Hub(settings or Settings())


def cmd_ingest(args) -> int:
    hub = make_hub()
    failed = False
    for path in args.files:
        for report in hub.ingest_file(path, partner_id=args.partner):
            failed |= report.state == "rejected"
            print_report(report, args.json)
    return 1 if failed else 0


def cmd_resume(args) -> int:
    reports = make_hub().resume()
    for report in reports:
        print_report(report, args.json)
    if not reports and not args.json:
        print("nothing to resume: every received file is settled")
    return 0


def print_report(report, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.to_dict()))
        return
    what = f"{report.type or '-'} {report.reference or ''}".strip()
    line = f"{Path(report.file).name if report.file else '-'}: {report.partner or 'unknown sender'} {what} -> {report.state}"
    if report.erp_ref:
        line += f" as {report.erp_ref}"
    if report.holds:
        line += f" (holds: {', '.join(report.holds)})"
    print(line)
    for error in report.errors:
        print(f"    {error}")


def cmd_status(args) -> int:
    from hub.db import make_engine
    from hub.ledger.store import Ledger

    print_status(Ledger(make_engine(Settings().ledger_url)))
    return 0


def print_status(ledger) -> None:
    counts = ledger.state_counts()
    print("documents: " + (", ".join(f"{state} {n}" for state, n in sorted(counts.items())) or "none"))
    queues: dict[str, int] = {}
    for row in ledger.open_exceptions():
        queues[row.queue] = queues.get(row.queue, 0) + 1
    print("open exceptions: " + (", ".join(f"{q} {n}" for q, n in sorted(queues.items())) or "none"))
