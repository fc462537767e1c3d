"""Every public 850 (and mixed file holding 850s) is read into trees or rejected with a located problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.x12.reader import X12Reader

PUBLIC = Path(__file__).resolve().parents[2] / "shared" / "samples" / "public"
FILES = sorted(p for p in PUBLIC.glob("*/*") if p.suffix not in (".json", ".csv") and not p.name.startswith("LICENSE")
               and b"850" in p.read_bytes()) if PUBLIC.is_dir() else []
# Files whose 850s are well-formed X12 in a version we map: every 850 in them must read clean.
CLEAN = {"850-004010-01.x12", "850-004010-02.x12", "850-004010-05.x12", "850-004010-06.x12", "850-004010-07.x12",
         "850-004010-10.x12", "850-004010-12.x12", "850-004010-ascii-lf.x12", "850-004010-ascii1.x12",
         "850-004010.13.x12", "850-004010.15.x12", "850-004010VICS-01.x12", "850_01.x12", "850.edi", "850_fat.edi",
         "850_Example1_PGWGlass.txt", "850.Composite.SLN.OK.edi"}


@pytest.mark.skipif(not FILES, reason=f"no public samples at {PUBLIC}")
@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_public_file_reads_or_is_rejected_with_location(path):
    result = X12Reader().read(path.read_bytes())
    for problem in result.problems:
        assert problem.message and problem.location.line, problem
    orders = [d for d in result.documents if d.doc_type == "850"]
    for doc in orders:
        for problem in doc.problems:
            assert problem.message and problem.location.line, problem
        if not doc.problems:
            assert doc.tree["BEG"][0]["BEG03"] and doc.tree["PO1_LOOP"]
    if path.name in CLEAN:
        assert not result.problems and orders and all(not d.problems for d in orders), \
            [p.describe() for d in orders for p in d.problems][:5]
    assert orders or result.problems or result.documents
