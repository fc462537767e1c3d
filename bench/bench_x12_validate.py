"""Transaction sets per second: the fast validator vs pyx12, over one generated 2,000-set interchange.

Each set is a 25-segment 850 (ST, BEG, CUR, REF, PER, DTM, 3 x N1/N3/N4, 4 x PO1/PID/REF, CTT, SE ...).
Run: .venv/bin/python bench/bench_x12_validate.py [sets]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.x12.oracle import run_pyx12  # noqa: E402
from adapters.x12.reader import X12Reader  # noqa: E402

BODY = ["BEG*00*SA*PO-{n}**20261115", "CUR*BY*USD", "REF*DP*042", "PER*BD*JANE DOE*TE*5551234567",
        "DTM*002*20261201",
        "N1*ST*SUMMIT HARDWARE STORE 42*92*0042", "N3*1200 COMMERCE BLVD", "N4*TULSA*OK*74103*US",
        "N1*BT*SUMMIT HARDWARE*92*0001", "N3*1 MAIN ST", "N4*TULSA*OK*74103*US",
        "PO1*1*12*EA*115.00**BP*SUM-77810*VP*HS-2001", "PID*F****CORDLESS DRILL 18V",
        "PO1*2*40*EA*11.25**BP*SUM-10012", "PID*F****HEX BOLT 1/2 ZINC",
        "PO1*3*5*EA*140.00**VP*HS-2002", "PID*F****IMPACT DRIVER",
        "PO1*4*10*CA*4.51**UP*012345000072", "PID*F****SAFETY GLASSES", "REF*ZZ*NOTE",
        "CTT*4*67", "AMT*TT*2000.00"]


def interchange(sets: int) -> bytes:
    out = ["ISA*00*          *00*          *01*123456789      *ZZ*HARBORSUPPLY   *261115*0930*U*00401*000000101*0*P*>",
           "GS*PO*SUMMITHW*HARBORSUPPLY*20261115*0930*1011*X*004010"]
    for n in range(1, sets + 1):
        body = [s.format(n=n) for s in BODY]
        out += [f"ST*850*{n:04d}", *body, f"SE*{len(body) + 2}*{n:04d}"]
    out += [f"GE*{sets}*1011", "IEA*1*000000101"]
    return ("~\n".join(out) + "~\n").encode()


def rate(label: str, run, sets: int) -> float:
    start = time.perf_counter()
    run()
    per_second = sets / (time.perf_counter() - start)
    print(f"{label:>14}: {per_second:10,.0f} transaction sets/s")
    return per_second


def main() -> None:
    sets = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    raw = interchange(sets)
    result = X12Reader().read(raw)  # warm-up (map compilation), and a check that the data is clean
    assert not result.problems and all(not d.problems for d in result.documents), "benchmark data must be clean"
    print(f"{sets} sets of {len(BODY) + 2} segments, {len(raw) / 1e6:.2f} MB")
    fast = rate("fast (reader)", lambda: X12Reader().read(raw), sets)
    run_pyx12(raw[:2000])  # warm-up (map loading)
    slow = rate("pyx12", lambda: run_pyx12(raw), sets)
    print(f"{'speed-up':>14}: {fast / slow:10.1f}x")


if __name__ == "__main__":
    main()
