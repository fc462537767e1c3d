"""Finance reports over a year of traffic: time and peak memory of `hub report`, per report and format.

    .venv/bin/python bench/bench_reports.py [--runs 3] [--documents 100000]
    .venv/bin/python bench/bench_reports.py --runs 3 --documents 20000 100000   # does memory grow with the data?
    .venv/bin/python bench/bench_reports.py --documents 100000 --database-url URL --erp-database-url URL  # PostgreSQL

For each --documents size, a fresh data dir (SQLite, the embedded default; or the two empty
PostgreSQL databases given) is seeded with the reference scenario, then a year of order traffic is
written straight into the ledger and the ERP with bulk inserts: N purchase orders (850) spread
evenly over the 365 days ending yesterday, across the scenario's customers. Each is one received
file with one document: posted (most), held on credit (3%, with an open exception and the ERP
order on HOLD) or rejected (2%, nothing in the ERP); one ERP posting for each order the ERP holds;
a 997 sent for every file, and an 855 for every tenth posted order, half of them acknowledged by
the partner (the other half overdue).

Then every report (intake, ledger-vs-erp, three-way-match, order-to-cash, posting-log,
exceptions-aging) in every format (xlsx, csv, html, json) is run for the whole year as
`hub report NAME --from D --to D -o FILE` in its own process, --runs times. Printed per size:
median wall time (process start to exit, Python start-up included), median peak resident memory
of that process, and the file's size; beside them the same on an empty period (a day in 2001):
what start-up and imports cost, so what the data adds is the difference (a report that reads
more than its period shows it there: its empty-period time grows with the data). With several
sizes, a last table sets peak memory and time side by side: streamed reports keep memory flat as
the data grows. (three-way-match reads supplier invoices, which this traffic has none of.)

Peak memory is the child's own VmHWM (/proc/self/status, read as it finishes). Its ru_maxrss
would not do: Linux carries the launching process's peak over into a child across exec, so it
would report this benchmark's memory instead of the report's.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy
from sqlalchemy import Engine, insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.erp import schema as erp  # noqa: E402
from hub.bootstrap import initialise  # noqa: E402
from hub.config import Settings  # noqa: E402
from hub.db import make_engine, writer  # noqa: E402
from hub.document_run import source_document  # noqa: E402
from hub.ledger import tables as t  # noqa: E402
from hub.ledger.store import Ledger  # noqa: E402
from hub.reports.catalog import REPORTS  # noqa: E402
from hub.reports.render import FORMATS  # noqa: E402

BATCH = 5000  # orders written per insert
HELD_PCT, REJECTED_PCT = 3, 2
PRICES = [Decimal(p) for p in ("4.51", "5.89", "7.98", "9.31", "11.25", "75.05", "141.55")]
EMPTY_DAY = "2001-06-01"  # a period with no traffic: the cost of start-up alone

# `hub report ...` as the user runs it (hub.cli.main, as `python -m hub.cli` calls it), then the
# peak resident memory of this process's own address space on stdout (the report goes to -o FILE)
CHILD = """
import sys
from hub.cli import main
code = main(sys.argv[1:])
with open("/proc/self/status") as status:
    print(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
sys.exit(code)
"""


@dataclass(frozen=True, slots=True)
class Customer:
    partner_id: str
    erp_ref: str


@dataclass(frozen=True, slots=True)
class Order:
    """One synthetic purchase order: its file, document and ERP order all carry number `n`."""

    n: int
    customer: Customer
    at: datetime  # received
    state: str  # posted, held, rejected
    quantity: int
    total: Decimal

    @property
    def in_erp(self) -> bool:
        return self.state != "rejected"


@dataclass(frozen=True, slots=True)
class Run:
    seconds: float
    peak_mb: float
    size: int  # bytes written


# --- a year of traffic ---------------------------------------------------------------------------


def orders(count: int, customers: list[Customer], first_day: date) -> list[Order]:
    """`count` orders spread evenly over the 365 days from `first_day`."""
    rng = random.Random(7)
    start = datetime.combine(first_day, datetime.min.time(), UTC)
    spacing = timedelta(days=365) / count
    made = []
    for n in range(1, count + 1):
        share = n % 100
        state = "held" if share < HELD_PCT else "rejected" if share < HELD_PCT + REJECTED_PCT else "posted"
        quantity = rng.randint(1, 200)
        made.append(Order(n, customers[n % len(customers)], start + (n - 1) * spacing, state, quantity,
                          quantity * rng.choice(PRICES)))
    return made


def interchange_row(o: Order) -> dict:
    raw = f"ISA*00*BENCH*{o.customer.partner_id}*{o.n:09d}~".encode()
    return {"id": o.n, "partner_id": o.customer.partner_id, "channel": "sftp", "filename": f"bench-{o.n}.edi",
            "format": "x12", "sha256": hashlib.sha256(raw).hexdigest(), "size": len(raw), "raw": raw,
            "status": "processed", "control_number": f"{o.n:09d}", "sender": o.customer.partner_id, "received_at": o.at,
            "contents": {"groups": 1, "documents": {"850": 1}, "segments": 12}}


def document_row(o: Order) -> dict:
    settled = o.at + timedelta(seconds=2)
    return {"id": o.n, "interchange_id": o.n, "position": 1, "partner_id": o.customer.partner_id, "doc_type": "850",
            "group_control": str(o.n), "set_control": "0001", "reference": f"PO-{o.n}", "state": o.state,
            "erp_ref": erp_order_id(o) if o.in_erp else None, "total": str(o.total), "quantity": o.quantity,
            "created_at": o.at, "updated_at": settled}


def exception_row(o: Order, sla: timedelta) -> dict:
    raised = o.at + timedelta(seconds=2)
    return {"id": o.n, "document_id": o.n, "code": "CREDIT_LIMIT", "queue": "credit", "priority": 2, "status": "open",
            "message": f"the order total {o.total} exceeds the credit limit", "due_at": raised + sla, "created_at": raised}


def posting_row(o: Order) -> dict:
    return {"id": o.n, "document_id": o.n, "target": "reference-erp", "attempt": 1, "outcome": "posted",
            "erp_ref": erp_order_id(o), "rows": 2, "amount": str(o.total), "duration_ms": 4.2 + o.n % 7,
            "at": o.at + timedelta(seconds=1)}


def outbox_rows(o: Order, ack_due: timedelta) -> list[dict]:
    """The 997 for the file, and for every tenth posted order an 855 (half of them acknowledged)."""
    sent = o.at + timedelta(seconds=3)
    # every row has every key: an executemany takes its columns from the first row
    common = {"partner_id": o.customer.partner_id, "interchange_id": o.n, "document_id": None, "status": "delivered",
              "attempts": 1, "created_at": sent, "delivered_at": sent, "ack_due_at": None, "ack_status": None,
              "acknowledged_at": None}
    rows = [{**common, "kind": "997", "filename": f"997-{o.n}.x12", "content": b"ISA*997~", "group_control": str(o.n)}]
    if o.state == "posted" and o.n % 10 == 0:
        acknowledged = o.n % 20 == 0
        rows.append({**common, "kind": "855", "document_id": o.n, "filename": f"855-{o.n}.x12", "content": b"ISA*855~",
                     "group_control": f"855{o.n}", "ack_due_at": sent + ack_due,
                     "ack_status": "accepted" if acknowledged else None,
                     "acknowledged_at": sent + timedelta(hours=1) if acknowledged else None})
    return rows


def erp_order_id(o: Order) -> str:
    return f"SO-{o.n:07d}"  # seven digits: never one of the seed's SO-9xxxxx


def sales_order_row(o: Order) -> dict:
    return {"order_id": erp_order_id(o), "customer_id": o.customer.erp_ref, "customer_po": f"PO-{o.n}",
            "order_date": o.at.date(), "status": "HOLD" if o.state == "held" else "BOOKED",
            "hold_codes": "CREDIT_LIMIT" if o.state == "held" else "", "total": o.total,
            "source_document": source_document(o.n, 1)}


def write_traffic(settings: Settings, ledger: Engine, erp_engine: Engine, traffic: list[Order]) -> None:
    sla = timedelta(hours=settings.queue_policy("credit")[0])
    ack_due = timedelta(hours=settings.ack_due_hours)
    for start in range(0, len(traffic), BATCH):
        batch = traffic[start:start + BATCH]
        in_erp = [o for o in batch if o.in_erp]
        held = [o for o in batch if o.state == "held"]
        with writer(ledger).begin() as conn:
            conn.execute(insert(t.interchanges), [interchange_row(o) for o in batch])
            conn.execute(insert(t.documents), [document_row(o) for o in batch])
            conn.execute(insert(t.postings), [posting_row(o) for o in in_erp])
            conn.execute(insert(t.outbox), [row for o in batch for row in outbox_rows(o, ack_due)])
            if held:
                conn.execute(insert(t.exceptions), [exception_row(o, sla) for o in held])
        with writer(erp_engine).begin() as conn:
            conn.execute(insert(erp.sales_orders), [sales_order_row(o) for o in in_erp])


def build_year(settings: Settings, count: int, first_day: date) -> None:
    """The reference scenario plus `count` orders over the year from `first_day`."""
    initialise(settings, ROOT / "samples" / "scenario")
    ledger, erp_engine = make_engine(settings.ledger_url), make_engine(settings.erp_url)
    try:
        customers = [Customer(p.id, p.erp_ref) for p in Ledger(ledger).partner_directory().partners
                     if p.role == "customer" and p.erp_ref]
        write_traffic(settings, ledger, erp_engine, orders(count, customers, first_day))
    finally:
        ledger.dispose()
        erp_engine.dispose()


# --- running the reports ---------------------------------------------------------------------------


def hub_environment(settings: Settings) -> dict[str, str]:
    """The environment `hub` runs in: this one without HUB_*, pointed at `settings`' databases."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    environment["HUB_DATA_DIR"] = str(settings.data_dir)
    if settings.database_url:
        environment["HUB_DATABASE_URL"] = settings.database_url
        environment["HUB_ERP_DATABASE_URL"] = settings.erp_database_url
    return environment


def run_report(environment: dict[str, str], name: str, fmt: str, start: str, end: str, out: Path) -> Run:
    command = [sys.executable, "-c", CHILD, "report", name, "--from", start, "--to", end, "--format", fmt, "-o", str(out)]
    began = time.perf_counter()
    done = subprocess.run(command, check=False, env=environment, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"hub report {name} --format {fmt} failed ({done.returncode}):\n{done.stderr}")
    return Run(seconds, int(done.stdout.split()[-1]) / 1024, out.stat().st_size)


def median_run(runs: list[Run]) -> Run:
    return Run(statistics.median(r.seconds for r in runs), statistics.median(r.peak_mb for r in runs),
               statistics.median(r.size for r in runs))


def measure(environment: dict[str, str], out: Path, runs: int, name: str, fmt: str, start: str, end: str) -> Run:
    """The median Run of one report in one format over the period."""
    return median_run([run_report(environment, name, fmt, start, end, out) for _ in range(runs)])


# --- output ----------------------------------------------------------------------------------------


def machine() -> str:
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), platform.processor())
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"machine: {os.cpu_count()} CPUs ({cpu}), {memory_gb:.0f} GB RAM, load average {load}; "
            f"Python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}")


def backend(settings: Settings) -> str:
    if settings.database_url:
        return "PostgreSQL (" + sqlalchemy.make_url(settings.ledger_url).render_as_string() + ")"
    import sqlite3
    return f"SQLite {sqlite3.sqlite_version} (embedded default)"


def human_size(size: float) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:,.0f} {unit}"
        size /= 1024
    return f"{size:,.1f} GB"


def report_table(environment: dict[str, str], folder: Path, runs: int, first_day: date, last_day: date) -> dict:
    """Every report in every format over the year, and over an empty period, printed a row at a
    time as measured; returns the year's Runs by (report, format)."""
    print(f"{'report':17s} {'format':6s} {'seconds':>8s} {'peak MB':>8s} {'output':>9s}   "
          f"{'empty period: seconds':>21s} {'peak MB':>8s}", flush=True)
    year = {}
    for name in REPORTS:
        for fmt in FORMATS:
            out = folder / f"{name}.{fmt}"
            run = year[(name, fmt)] = measure(environment, out, runs, name, fmt, first_day.isoformat(), last_day.isoformat())
            base = measure(environment, out, runs, name, fmt, EMPTY_DAY, EMPTY_DAY)
            print(f"{name:17s} {fmt:6s} {run.seconds:8.2f} {run.peak_mb:8.1f} {human_size(run.size):>9s}   "
                  f"{base.seconds:21.2f} {base.peak_mb:8.1f}", flush=True)
    return year


def print_growth(by_size: dict[int, dict]) -> None:
    sizes = sorted(by_size)
    smallest, largest = sizes[0], sizes[-1]
    print(f"\npeak memory and time as the data grows {largest / smallest:g}x ({smallest:,} -> {largest:,} documents):")
    print(f"{'report':17s} {'format':6s} " + " ".join(f"{f'MB @{s:,}':>12s}" for s in sizes)
          + f" {'MB ratio':>9s} " + " ".join(f"{f's @{s:,}':>11s}" for s in sizes) + f" {'s ratio':>8s}")
    for key in by_size[smallest]:
        runs = [by_size[s][key] for s in sizes]
        print(f"{key[0]:17s} {key[1]:6s} " + " ".join(f"{r.peak_mb:12.1f}" for r in runs)
              + f" {runs[-1].peak_mb / runs[0].peak_mb:9.2f} " + " ".join(f"{r.seconds:11.2f}" for r in runs)
              + f" {runs[-1].seconds / runs[0].seconds:8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--documents", type=int, nargs="+", default=[100_000], help="orders in the year; several sizes to compare")
    parser.add_argument("--database-url", help="an empty PostgreSQL database for the ledger (with --erp-database-url)")
    parser.add_argument("--erp-database-url", help="an empty PostgreSQL database for the ERP")
    args = parser.parse_args()
    if bool(args.database_url) != bool(args.erp_database_url):
        parser.error("give both --database-url and --erp-database-url, or neither")
    if args.database_url and len(args.documents) > 1:
        parser.error("PostgreSQL databases hold one size: give one --documents with --database-url")
    today = datetime.now(UTC).date()
    first_day, last_day = today - timedelta(days=365), today - timedelta(days=1)
    print(machine(), flush=True)
    by_size = {}
    for count in args.documents:
        with tempfile.TemporaryDirectory(prefix="bench-reports-") as folder:
            settings = Settings(data_dir=Path(folder) / "var", database_url=args.database_url,
                                erp_database_url=args.erp_database_url)
            began = time.perf_counter()
            build_year(settings, count, first_day)
            print(f"\n{count:,} documents, {first_day} to {last_day}, on {backend(settings)}: "
                  f"written in {time.perf_counter() - began:.1f} s; medians of {args.runs} runs", flush=True)
            by_size[count] = report_table(hub_environment(settings), Path(folder), args.runs, first_day, last_day)
    if len(by_size) > 1:
        print_growth(by_size)


if __name__ == "__main__":
    main()
