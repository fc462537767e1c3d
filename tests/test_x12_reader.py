"""The X12 reader on the scenario 850s, re-delimited copies of them, and broken variants."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.x12.reader import X12Reader
from hub.ports import FormatReader, ReadResult

DOCS = Path(__file__).resolve().parents[1] / "samples" / "scenario" / "documents"
SCENARIO_850 = sorted(DOCS.glob("*850*.edi"))
SUMMIT = (DOCS / "summit-850-booked.edi").read_bytes()
READER = X12Reader()


def edit(raw: bytes, change, fix_count: bool = True) -> bytes:
    """Apply `change` to the segment lines of a one-set sample; keep SE01 right unless told not to."""
    lines = change(raw.decode("latin-1").split("~\n"))
    text = "~\n".join(lines)
    if fix_count:
        body = text[text.index("\nST*") + 1:text.index("\nSE*")]
        count = body.count("~") + 1
        text = re.sub(r"\nSE\*\d+\*", f"\nSE*{count}*", text)
    return text.encode("latin-1")


def replace(old: str, new: str, fix_count: bool = True):
    return lambda raw: edit(raw, lambda lines: [new if line == old else line for line in lines], fix_count)


def codes(result: ReadResult) -> set[str]:
    return {p.code for p in result.problems} | {p.code for d in result.documents for p in d.problems}


def strip_lines(tree):
    if isinstance(tree, dict):
        return {k: strip_lines(v) for k, v in tree.items() if k != "_line"}
    if isinstance(tree, list):
        return [strip_lines(v) for v in tree]
    return tree


def test_reader_is_a_format_reader():
    assert isinstance(READER, FormatReader)
    assert READER.sniff(SUMMIT) and READER.sniff(b"\xef\xbb\xbf\r\n  " + SUMMIT)
    assert not READER.sniff(b"%PDF-1.4") and not READER.sniff(b"order_id,sku\n")


@pytest.mark.parametrize("path", SCENARIO_850, ids=lambda p: p.name)
def test_scenario_850_reads_clean(path):
    result = READER.read(path.read_bytes())
    assert result.format == "x12" and not result.problems
    assert [d.problems for d in result.documents] == [[]]
    doc = result.documents[0]
    assert doc.doc_type == "850" and doc.control["set_control"] == "0001"
    assert doc.control["functional_id"] == "PO" and doc.control["version"] in ("004010", "005010")
    assert doc.tree["BEG"][0]["BEG03"] == path.read_text().split("BEG*00*SA*")[1].split("*")[0]
    assert doc.tree["PO1_LOOP"] and doc.tree["CTT_LOOP"][0]["CTT"][0]["_line"] > 10


def test_summit_tree_values():
    result = READER.read(SUMMIT)
    assert result.sender == ("01", "123456789") and result.interchange_control == "000000101"
    tree = result.documents[0].tree
    assert tree["ST"] == [{"ST01": "850", "ST02": "0001", "_line": 3}]
    assert tree["BEG"] == [{"BEG01": "00", "BEG02": "SA", "BEG03": "SUM-PO-1001", "BEG05": "20261115", "_line": 4}]
    assert tree["N1_LOOP"][0]["_line"] == 8
    assert tree["N1_LOOP"][0]["N1"][0] == {"N101": "ST", "N102": "SUMMIT HARDWARE STORE 42", "N103": "92",
                                           "N104": "0042", "_line": 8}
    assert tree["N1_LOOP"][0]["N4"][0]["N402"] == "OK"
    line1, line2 = tree["PO1_LOOP"]
    assert line1["_line"] == 11 and line1["PO1"] == [{
        "PO101": "1", "PO102": "12", "PO103": "EA", "PO104": "115.00", "PO106": "BP", "PO107": "SUM-77810",
        "PO108": "VP", "PO109": "HS-2001", "_line": 11}]
    assert line1["PID_LOOP"] == [{"_line": 12, "PID": [{"PID01": "F", "PID05": "CORDLESS DRILL 18V", "_line": 12}]}]
    assert line2["PO1"][0]["PO107"] == "SUM-10012"
    assert tree["CTT_LOOP"][0]["CTT"][0]["CTT01"] == "2"
    assert tree["SE"][0]["SE01"] == "14"


def redelimit(raw: bytes, element: str, component: str, terminator: str, newline: str) -> bytes:
    text = raw.decode("latin-1")
    isa, rest = text[:106], text[106:]
    isa = isa[:104].replace("*", element) + component + terminator
    rest = rest.lstrip("\n").replace("~\n", "\x00").replace("*", element).replace("\x00", terminator + newline)
    return (isa + newline + rest).encode("latin-1")


VARIANTS = [("|", "}", "!", "\n"), ("\x7f", ">", "\x15", ""), ("*", ":", "~", "\r\n"), ("^", "\\", "'", ""),
            ("~", "|", "\r", "\n")]


@pytest.mark.parametrize("path", SCENARIO_850, ids=lambda p: p.name)
@pytest.mark.parametrize("delims", VARIANTS, ids=repr)
def test_redelimited_files_give_identical_trees(path, delims):
    raw = path.read_bytes()
    if "^" in delims and b"*00501*" in raw:
        pytest.skip("'^' is this 5010 file's repetition separator")
    original = READER.read(raw).documents[0].tree
    result = READER.read(redelimit(raw, *delims))
    assert not codes(result)
    tree = result.documents[0].tree
    if delims[3]:
        assert tree == original
    else:
        assert strip_lines(tree) == strip_lines(original)


def test_composite_is_a_list_of_components():
    raw = edit(SUMMIT, lambda lines: lines[:11] + ["CTP*RS*RES*12.00*1*CA>12"] + lines[11:])
    result = READER.read(raw)
    assert not codes(result)
    assert result.documents[0].tree["PO1_LOOP"][0]["CTP"][0]["CTP05"] == ["CA", "12"]


def one_problem(result: ReadResult, code: str, in_document: bool = True):
    problems = result.documents[0].problems if in_document else result.problems
    found = [p for p in problems if p.code == code]
    assert found, f"no {code} in {[p.describe() for p in problems]}"
    return found[0]


BAD = {
    "wrong SE01": (replace("SE*14*0001", "SE*15*0001", fix_count=False), "set:4", "SE", 14, "SE01"),
    "SE02 differs": (replace("SE*14*0001", "SE*14*0002"), "set:3", "SE", 14, "SE02"),
    "wrong GE01": (replace("GE*1*1011", "GE*2*1011"), "grp:5", "GE", None, "GE01"),
    "GE02 differs": (replace("GE*1*1011", "GE*1*1012"), "grp:4", "GE", None, "GE02"),
    "empty segment": (lambda raw: raw.replace(b"~\nCUR", b"~~\nCUR"), "seg:1", None, 3, None),
    "non-ASCII name": (lambda raw: raw.replace(b"STORE 42", "STÖRE 42".encode()), "ele:6", "N1", 6, "N102"),
    "ST*810 in a PO group": (lambda raw: raw.replace(b"ST*850", b"ST*810"), "set:6", "ST", 1, "ST01"),
    "missing BEG": (lambda raw: edit(raw, lambda lines: [x for x in lines if not x.startswith("BEG")]),
                    "seg:3", "BEG", 2, None),
    "bad date": (replace("BEG*00*SA*SUM-PO-1001**20261115", "BEG*00*SA*SUM-PO-1001**20261345"),
                 "ele:8", "BEG", 2, "BEG05"),
    "invalid code": (replace("BEG*00*SA*SUM-PO-1001**20261115", "BEG*QQ*SA*SUM-PO-1001**20261115"),
                     "ele:7", "BEG", 2, "BEG01"),
    "too long": (replace("BEG*00*SA*SUM-PO-1001**20261115", "BEG*00*SA*" + "X" * 30 + "**20261115"),
                 "ele:5", "BEG", 2, "BEG03"),
    "unknown segment": (lambda raw: edit(raw, lambda lines: lines[:5] + ["ZZZ*1"] + lines[5:]), "seg:1", "ZZZ", 4, None),
    "segment over 8 KB": (replace("PID*F****HEX BOLT 1/2 ZINC", "PID*F****" + "A" * 9000), "ele:5", "PID", 12, "PID05"),
}
BAD_INTERCHANGE = {
    "IEA01 wrong": (lambda raw: raw.replace(b"IEA*1*", b"IEA*2*"), "isa:021"),
    "IEA02 differs": (lambda raw: raw.replace(b"IEA*1*000000101", b"IEA*1*000000109"), "isa:001"),
    "missing IEA": (lambda raw: raw[:raw.index(b"IEA")], "isa:023"),
    "truncated": (lambda raw: raw[:raw.index(b"PO1*2") + 9], "isa:023"),
    "ISA of 105": (lambda raw: raw.replace(b"123456789      *", b"123456789     *", 1), "isa:024"),
    "ISA of 107": (lambda raw: raw.replace(b"123456789      *", b"123456789       *", 1), "isa:024"),
    "not X12": (lambda raw: b"hello", "isa:024"),
    "a PDF": (lambda raw: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "isa:024"),
    "EBCDIC": (lambda raw: raw.decode("latin-1").encode("cp037"), "isa:024"),
    "no GS": (lambda raw: re.sub(rb"GS\*.*?IEA", b"IEA", raw, flags=re.S).replace(b"IEA*1", b"IEA*0"), "isa:024"),
    "empty file": (lambda raw: b"", "isa:024"),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_set_gives_located_problem(name):
    change, code, segment, position, element = BAD[name]
    result = READER.read(change(SUMMIT))
    problem = one_problem(result, code)
    loc = problem.location
    assert (loc.segment_id, loc.segment_position, loc.element) == (segment, position, element), problem.describe()
    assert loc.line and loc.column and problem.message
    assert not result.documents[0].problems or result.documents[0].problems[0].describe()


def test_what_the_validator_remembers_never_hides_a_problem():
    """The validator remembers the values that passed each element and the way between segments;
    a file read after others (good or bad) is judged exactly as when read first."""
    first = {name: READER.read(change(SUMMIT)) for name, (change, *_) in BAD.items()}
    READER.read(SUMMIT)
    for name, (change, *_) in BAD.items():
        again = READER.read(change(SUMMIT))
        assert [p.describe() for d in again.documents for p in d.problems] == [p.describe() for d in first[name].documents for p in d.problems], name


@pytest.mark.parametrize("name", BAD_INTERCHANGE)
def test_bad_interchange_gives_located_problem(name):
    change, code = BAD_INTERCHANGE[name]
    result = READER.read(change(SUMMIT))
    problem = one_problem(result, code, in_document=False)
    assert problem.location.line and problem.message


def test_messages_say_what_and_where():
    se = one_problem(READER.read(BAD["wrong SE01"][0](SUMMIT)), "set:4")
    assert se.describe() == ("SE01 says 15 segments but the set has 14 "
                             "(transaction set 0001, segment SE #14, element SE01, line 16 column 1)")
    truncated = one_problem(READER.read(BAD_INTERCHANGE["truncated"][0](SUMMIT)), "isa:023", in_document=False)
    assert "PO1 #11" in truncated.message and "line 13" in truncated.message
    isa = one_problem(READER.read(BAD_INTERCHANGE["ISA of 105"][0](SUMMIT)), "isa:024", in_document=False)
    assert "105 characters" in isa.message and "ISA06 is 14 characters" in isa.message
    assert "PDF" in one_problem(READER.read(b"%PDF-1.4"), "isa:024", in_document=False).message
    ebcdic = BAD_INTERCHANGE["EBCDIC"][0](SUMMIT)
    assert "EBCDIC" in one_problem(READER.read(ebcdic), "isa:024", in_document=False).message


def test_bom_and_leading_whitespace_are_tolerated():
    result = READER.read(b"\xef\xbb\xbf\r\n" + SUMMIT)
    assert not codes(result)
    assert result.documents[0].tree["BEG"][0]["_line"] == 5


def test_810_in_po_group_is_kept_and_rejected():
    """ST01 chooses the map: the set is read as an invoice, in which the order's BEG has no place."""
    result = READER.read(BAD["ST*810 in a PO group"][0](SUMMIT))
    assert [d.doc_type for d in result.documents] == ["810"]
    problems = result.documents[0].problems
    assert {"set:6", "seg:1"} <= {p.code for p in problems} and "set:1" not in {p.code for p in problems}
    assert any(p.location.segment_id == "BEG" for p in problems if p.code == "seg:1")


def test_several_interchanges_in_one_file():
    lakeside = (DOCS / "lakeside-850-5010-booked.edi").read_bytes()
    result = READER.read(SUMMIT + lakeside)
    assert not codes(result) and len(result.documents) == 2 and isinstance(result.envelope, list)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(data):
    assert isinstance(READER.read(data), ReadResult)
    assert isinstance(READER.read(SUMMIT[:106] + data), ReadResult)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(SUMMIT) - 1), st.integers(0, 40), st.binary(max_size=12))
def test_mutated_samples_never_raise(at, cut, insert):
    mutated = SUMMIT[:at] + insert + SUMMIT[at + cut:]
    result = READER.read(mutated)
    assert isinstance(result, ReadResult)
    for doc in result.documents:
        assert isinstance(doc.tree, dict)
