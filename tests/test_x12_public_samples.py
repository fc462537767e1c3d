"""Every public 850, 856 and 810 (and mixed file holding them) is read into trees or rejected with a
located problem; the files judged well-formed read clean."""

from __future__ import annotations

import re
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


def read_located(path: Path, doc_types: tuple[str, ...]):
    """The file read, and its documents of `doc_types`; every problem found says what and where."""
    result = X12Reader().read(path.read_bytes())
    documents = [d for d in result.documents if d.doc_type in doc_types]
    for problem in result.problems + [p for d in documents for p in d.problems]:
        assert problem.message and problem.location.line, problem
    return result, documents


@pytest.mark.skipif(not FILES, reason=f"no public samples at {PUBLIC}")
@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_public_file_reads_or_is_rejected_with_location(path):
    result, orders = read_located(path, ("850",))
    for doc in orders:
        if not doc.problems:
            assert doc.tree["BEG"][0]["BEG03"] and doc.tree["PO1_LOOP"]
    if path.name in CLEAN:
        assert not result.problems and orders and all(not d.problems for d in orders), \
            [p.describe() for d in orders for p in d.problems][:5]
    assert orders or result.problems or result.documents


SHIP_NOTICES_AND_INVOICES = sorted(
    p for p in PUBLIC.glob("*/*") if p.suffix not in (".json", ".csv") and not p.name.startswith("LICENSE")
    and re.search(rb"ST[^A-Za-z0-9 ](856|810)[^0-9]", p.read_bytes())) if PUBLIC.is_dir() else []
# Files whose 856s and 810s are well-formed X12 in a version we map: each of them must read clean.
# Not in the list: 856_Example4.txt (no HL02 at all, so its items belong to no order; N402 too long),
# 810_Example5_Walmart.txt (ISS before TDS, trailing spaces), node-x12/856.edi (004060), and files
# whose envelope is unusable (x12.810b.edi, 856_Example3.txt, the stupidedi failures).
CLEAN_856_810 = {"810-004010-01.x12", "810_3.x12", "856_1.x12", "856_2.x12", "856_PARTNER2_20130123_1.x12",
                 "856.Crossdock.OK.edi", "810_Example4_Adobe.txt", "856_Example1.txt", "856_FromGregarican.txt",
                 "invoice810_po850_dual.edi"}


@pytest.mark.skipif(not SHIP_NOTICES_AND_INVOICES, reason=f"no public samples at {PUBLIC}")
@pytest.mark.parametrize("path", SHIP_NOTICES_AND_INVOICES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_public_856_810_reads_or_is_rejected_with_location(path):
    result, documents = read_located(path, ("856", "810"))
    for doc in documents:
        if doc.problems:
            continue
        if doc.doc_type == "856":
            levels = doc.tree["HL_LOOP"]
            assert doc.tree["BSN"][0]["BSN02"] and levels and all("_within" in level for level in levels)
            assert all(level.get("LIN") for level in levels if level["HL"][0]["HL03"] == "I")
        else:
            assert doc.tree["BIG"][0]["BIG02"] and doc.tree["IT1_LOOP"] and doc.tree["TDS"][0]["TDS01"]
    if path.name in CLEAN_856_810:
        assert not result.problems and documents and all(not d.problems for d in documents), \
            [p.describe() for d in documents for p in d.problems][:5]
    assert documents or result.problems


@pytest.mark.skipif(not SHIP_NOTICES_AND_INVOICES, reason=f"no public samples at {PUBLIC}")
def test_clean_856_810_names_existing_files():
    assert CLEAN_856_810 <= {p.name for p in SHIP_NOTICES_AND_INVOICES}
