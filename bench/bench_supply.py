"""Supplier documents through the whole flow (parse, validate, map, match under lock, post to
the ERP, acknowledge) on SQLite.

    .venv/bin/python bench/bench_supply.py [--runs 5] [--docs 2000] [--only asn|invoice]

Two workloads, each on a fresh data dir seeded from the reference scenario plus --docs open POs
per supplier (received in full, so invoices match):

  asn      one X12 856 004010 interchange from Apex of --docs ASNs, each shipping 3 lines of its own PO
  invoice  one X12 810 005010 interchange from Delta of --docs invoices, each billing 2 lines of its own PO

Prints documents per second (median of --runs) and the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import csv
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

# (supplier, vendor part, sku, unit price) per PO line
APEX_LINES = [("V10", "APX-HB12", "HS-1001", "7.10"), ("V10", "APX-HN12", "HS-1002", "4.60"), ("V10", "APX-SG01", "HS-3001", "1.90")]
DELTA_LINES = [("V20", "DT-CD18", "HS-2001", "78.00"), ("V20", "DT-BP184", "HS-2003", "44.25")]
QTY = 100


def po_number(supplier: str, n: int) -> str:
    return f"{'7' if supplier == 'V10' else '8'}{n:07d}"


def make_seed(folder: Path, docs: int) -> Path:
    seed = folder / "seed"
    shutil.copytree(ROOT / "samples" / "scenario", seed, ignore=shutil.ignore_patterns("documents"))
    with (seed / "erp" / "purchase_orders.csv").open("a", newline="") as heads, \
         (seed / "erp" / "purchase_order_lines.csv").open("a", newline="") as lines:
        head_out, line_out = csv.writer(heads), csv.writer(lines)
        for spec in (APEX_LINES, DELTA_LINES):
            for n in range(docs):
                number = po_number(spec[0][0], n)
                head_out.writerow([number, spec[0][0], "2026-11-01", "OPEN"])
                for line_no, (_, part, sku, price) in enumerate(spec, 1):
                    line_out.writerow([number, line_no, sku, part, QTY, price, 0, QTY])
    return seed


def envelope(sender: str, fic: str, version: str, sets: list[list[str]]) -> bytes:
    isa_version = "00501" if version.startswith("005") else "00401"
    out = [f"ISA*00*          *00*          *ZZ*{sender.ljust(15)}*ZZ*HARBORSUPPLY   *261115*0930*{'^' if isa_version == '00501' else 'U'}*{isa_version}*000000001*0*P*>",
           f"GS*{fic}*{sender}*HARBORSUPPLY*20261115*0930*1*X*{version}"]
    for i, body in enumerate(sets, 1):
        out.append(f"ST*{body[0]}*{i:04d}")
        out.extend(body[1:])
        out.append(f"SE*{len(body) + 1}*{i:04d}")
    out += [f"GE*{len(sets)}*1", "IEA*1*000000001"]
    return ("~\n".join(out) + "~\n").encode()


def ship_notice(n: int) -> list[str]:
    body = ["856", f"BSN*00*ASN-{n:07d}*20261118*1400*0001", "HL*1**S", "TD5*B*2*ODFL*M*OLD DOMINION",
            "REF*BM*BOL-553201", "DTM*011*20261118", "N1*ST*HARBOR SUPPLY DALLAS DC*92*DAL",
            "HL*2*1*O", f"PRF*{po_number('V10', n)}***20261102"]
    for i, (_, part, _, _) in enumerate(APEX_LINES, 3):
        body += [f"HL*{i}*2*I", f"LIN**VP*{part}", f"SN1**{QTY}*EA"]
    return body + [f"CTT*{len(APEX_LINES) + 2}"]


def invoice(n: int) -> list[str]:
    body = ["810", f"BIG*20261119*DT-INV-{n:07d}*20261105*{po_number('V20', n)}", "N1*RE*DELTA TOOLS*92*V20", "ITD*01*3*2**10**30"]
    total = 0
    for i, (_, part, _, price) in enumerate(DELTA_LINES, 1):
        body.append(f"IT1*{i}*{QTY}*EA*{price}**VP*{part}")
        total += int(QTY * float(price) * 100 + 0.5)
    return body + [f"TDS*{total}", f"CTT*{len(DELTA_LINES)}"]


def run_once(workload: str, docs: int, folder: Path) -> float:
    settings = Settings(data_dir=folder / "var")
    initialise(settings, make_seed(folder, docs))
    hub = Hub(settings)
    if workload == "asn":
        raw = envelope("APEXFASTENERS", "SH", "004010", [ship_notice(n) for n in range(docs)])
    else:
        raw = envelope("DELTATOOLS", "IN", "005010", [invoice(n) for n in range(docs)])
    started = time.perf_counter()
    reports = hub.ingest_bytes(raw, f"bench-{workload}.edi", None)
    elapsed = time.perf_counter() - started
    states = {r.state for r in reports}
    assert len(reports) == docs and states == {"posted"}, (len(reports), states, [r.errors for r in reports[:1]])
    return docs / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--only", choices=["asn", "invoice"])
    args = parser.parse_args()
    for workload in ("asn", "invoice"):
        if args.only and workload != args.only:
            continue
        rates = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as folder:
                rates.append(run_once(workload, args.docs, Path(folder)))
        print(f"{workload:8s} {args.docs} documents in one interchange: median {statistics.median(rates):,.0f} documents/s"
              f"  (runs: {', '.join(f'{r:,.0f}' for r in rates)})")
    print(f"peak memory (max RSS of this process): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
