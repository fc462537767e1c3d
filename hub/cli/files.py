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

    status = sub.add_parser("status", help="workers alive, documents per state, the queue, open exceptions per queue and the outbox")
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

    settings = Settings()
    print_status(Ledger(make_engine(settings.ledger_url)), settings)
    return 0


def print_status(ledger, settings: Settings) -> None:
    from hub.ledger.presence import Presence, heartbeat_seconds
    from hub.ledger.queue import WorkQueue
    from hub.ledger.store import now

    at = now()
    processes = Presence(ledger, heartbeat_seconds(settings.lease_seconds)).alive()
    workers = [p for p in processes if p.concurrency]
    print(f"workers alive: {len(workers)}" + ("" if workers else " (files wait until `hub serve` or `hub worker` runs)"))
    for p in processes:
        what = f"{p.concurrency} thread(s){', delivers' if p.delivers else ''}" if p.concurrency else "delivers only"
        print(f"    {p.id}: {what}, up {_ago(at, p.started_at)}, seen {_ago(at, p.seen_at)} ago, {p.done} settled")
    counts = ledger.state_counts()
    print("documents: " + (", ".join(f"{state} {n}" for state, n in sorted(counts.items())) or "none"))
    queues: dict[str, int] = {}
    for row in ledger.open_exceptions():
        queues[row.queue] = queues.get(row.queue, 0) + 1
    print("open exceptions: " + (", ".join(f"{q} {n}" for q, n in sorted(queues.items())) or "none"))
    depth = WorkQueue(ledger, settings.lease_seconds).depth()
    waiting = f"{depth['files']} file(s) to split, {depth['documents']} document(s) to decide"
    if depth["oldest_received_at"] is not None:
        waiting += f"; the oldest waiting arrived {_duration(depth['waited_seconds'])} ago ({depth['oldest_received_at']:%Y-%m-%d %H:%M:%S} UTC)"
    print(f"queue: {waiting}")
    pending, oldest = ledger.outbox_waiting()
    outbox = f"outbox: {pending} file(s) to deliver"
    if oldest is not None:
        outbox += f"; the oldest was made {_ago(at, oldest)} ago"
    if not any(p.delivers for p in processes):
        outbox += " (nothing delivers them until `hub serve`, `hub worker` or `hub deliver` runs)"
    print(outbox)


def _ago(at, then) -> str:
    """How long ago `then` was, for people."""
    from hub.timespan import utc

    return _duration((at - utc(then)).total_seconds())


def _duration(seconds: float) -> str:
    """A duration for people: 42s, 5m 3s, 2h 10m, 3d 4h."""
    seconds = max(0, int(seconds))
    for unit, size, smaller, small_size in (("d", 86400, "h", 3600), ("h", 3600, "m", 60), ("m", 60, "s", 1)):
        if seconds >= size:
            return f"{seconds // size}{unit} {seconds % size // small_size}{smaller}"
    return f"{seconds}s"
