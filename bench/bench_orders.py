"""Orders through the whole flow (parse, map, rules, allocate, post, acknowledge) on SQLite.

    .venv/bin/python bench/bench_orders.py [--runs 5] [--pos 2000] [--lines 20] [--files 1000]

Two workloads, each on a fresh data dir seeded from the reference scenario, with Summit's credit
limit and the stock raised so orders book instead of all going to credit hold:

  interchange  one X12 850 interchange of --pos purchase orders x --lines lines
  files        --files interchanges of one purchase order each

Prints POs per second (median of --runs) and the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hub.bootstrap import initialise  # noqa: E402
from hub.config import Settings  # noqa: E402
from hub.pipeline import Hub  # noqa: E402
from tests.synthetic_customers import rewrite_csv  # noqa: E402

# Summit (C100, gold: 5% off list; contracts on HS-2001 and HS-1001): our price per item
PRICES = {"HS-1001": "11.25", "HS-1002": "7.98", "HS-1003": "5.89", "HS-2002": "141.55", "HS-2003": "75.05", "HS-3001": "4.51", "HS-3002": "9.31"}
SKUS = list(PRICES) + ["HS-2001"]


def make_seed(folder: Path) -> Path:
    """The scenario, with room for a benchmark's worth of orders."""
    seed = folder / "seed"
    shutil.copytree(ROOT / "samples" / "scenario", seed, ignore=shutil.ignore_patterns("documents"))
    rewrite_csv(seed / "erp" / "customers.csv", lambda r: {**r, "credit_limit": "1000000000.00"})
    rewrite_csv(seed / "erp" / "inventory.csv", lambda r: {**r, "on_hand": "100000000"})
    return seed


def purchase_order(po_number: int, lines: int, rng: random.Random) -> list[str]:
    segments = [
        f"BEG*00*SA*BENCH-{po_number}**20261115",
        "CUR*BY*USD",
        "REF*DP*042",
        "DTM*002*20261201",
        "N1*ST*SUMMIT HARDWARE STORE 42*92*0042",
        "N3*1200 COMMERCE BLVD",
        "N4*TULSA*OK*74103*US",
    ]
    total = 0
    for n in range(1, lines + 1):
        sku = rng.choice(SKUS)
        qty = rng.randint(1, 40)
        total += qty
        price = ("115.00" if qty >= 10 else "119.00") if sku == "HS-2001" else PRICES[sku]
        segments.append(f"PO1*{n}*{qty}*EA*{price}**VP*{sku}")
        segments.append("PID*F****BENCH ITEM")
    segments.append(f"CTT*{lines}*{total}")
    return segments


def interchange(control: int, orders: list[list[str]]) -> bytes:
    out = [
        f"ISA*00*          *00*          *01*123456789      *ZZ*HARBORSUPPLY   *261115*0930*U*00401*{control:09d}*0*P*>",
        f"GS*PO*SUMMITHW*HARBORSUPPLY*20261115*0930*{control}*X*004010",
    ]
    for i, body in enumerate(orders, 1):
        out.append(f"ST*850*{i:04d}")
        out.extend(body)
        out.append(f"SE*{len(body) + 2}*{i:04d}")
    out += [f"GE*{len(orders)}*{control}", f"IEA*1*{control:09d}"]
    return ("~\n".join(out) + "~\n").encode()


def run_once(workload: str, args, folder: Path) -> float:
    settings = Settings(data_dir=folder / "var")
    initialise(settings, make_seed(folder))
    hub = Hub(settings)
    rng = random.Random(7)
    if workload == "interchange":
        files = [interchange(1, [purchase_order(n, args.lines, rng) for n in range(args.pos)])]
        count = args.pos
    else:
        files = [interchange(n + 1, [purchase_order(n, args.lines, rng)]) for n in range(args.files)]
        count = args.files
    started = time.perf_counter()
    reports = []
    for n, raw in enumerate(files):
        reports += hub.ingest_bytes(raw, f"bench-{n}.edi", None)
    elapsed = time.perf_counter() - started
    states = {r.state for r in reports}
    assert len(reports) == count and states <= {"answered", "posted"}, (len(reports), states, reports[:1])
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pos", type=int, default=2000)
    parser.add_argument("--lines", type=int, default=20)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--only", choices=["interchange", "files"])
    args = parser.parse_args()
    for workload in ["interchange", "files"]:
        if args.only and workload != args.only:
            continue
        rates = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as folder:
                rates.append(run_once(workload, args, Path(folder)))
        shape = f"{args.pos} POs x {args.lines} lines in one interchange" if workload == "interchange" else f"{args.files} files of one PO x {args.lines} lines"
        print(f"{workload:12s} {shape}: median {statistics.median(rates):,.0f} POs/s  (runs: {', '.join(f'{r:,.0f}' for r in rates)})")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS of this process): {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
