"""The mapping engine and the scenario's partner mappings, on the real sample files."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import jmespath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.delimited.reader import DelimitedReader
from adapters.jsondoc.reader import JsonReader
from adapters.xmldoc.reader import CxmlReader
from hub.canonical import ItemIds, Source
from hub.errors import ConfigurationError
from hub.mapping import MappingEngine, compile_mapping, engine, load_mapping
from hub.ports import ParsedDocument

ROOT = Path(__file__).resolve().parents[1]
MAPPINGS = ROOT / "mappings"
DOCUMENTS = ROOT / "samples" / "scenario" / "documents"
ENGINE = MappingEngine()


# ---------------------------------------------------------------------------------------------
# A stand-in for the X12 reader's generic tree, good enough for the scenario's flat 850s:
# header segments at the top, N1 loops (N1 N3 N4), PO1 loops with PID loops, the CTT loop.

_LOOP_STARTS = {"N1": "N1_LOOP", "PO1": "PO1_LOOP", "CTT": "CTT_LOOP"}
_IN_LOOP = {"N2": "N1", "N3": "N1", "N4": "N1", "PER": "N1"}


def x12_tree(text: str) -> dict:
    """The tree of the first transaction set in `text` (one segment per line)."""
    tree: dict = {}
    loop: dict | None = None  # the open N1 / PO1 / CTT loop
    po1: dict | None = None  # the open PO1 loop, for PID loops inside it
    in_set = False
    for line_no, line in enumerate(text.splitlines(), 1):
        segment = line.strip().rstrip("~")
        if not segment:
            continue
        seg_id, *elements = segment.split("*")
        in_set = in_set or seg_id == "ST"
        if not in_set:
            continue
        element = {f"{seg_id}{i:02d}": v for i, v in enumerate(elements, 1) if v}
        element["_line"] = line_no
        if seg_id in _LOOP_STARTS:
            target = po1 if seg_id == "N1" and po1 is not None else tree
            loop = {"_line": line_no}
            target.setdefault(_LOOP_STARTS[seg_id], []).append(loop)
            po1 = loop if seg_id == "PO1" else (None if seg_id == "CTT" else po1)
            loop[seg_id] = [element]
        elif seg_id == "PID" and po1 is not None:
            po1.setdefault("PID_LOOP", []).append({"_line": line_no, "PID": [element]})
        elif seg_id in _IN_LOOP and loop is not None and _IN_LOOP[seg_id] in loop:
            loop.setdefault(seg_id, []).append(element)
        else:
            tree.setdefault(seg_id, []).append(element)
            loop = po1 = None
        if seg_id == "SE":
            break
    return tree


def parsed_x12(name: str) -> ParsedDocument:
    return ParsedDocument(index=1, doc_type="850", tree=x12_tree((DOCUMENTS / name).read_text()))


def read_one(reader, name: str, partner: str) -> ParsedDocument:
    mapping = load_mapping(MAPPINGS, partner, "order")
    result = reader.read((DOCUMENTS / name).read_bytes(), mapping.source)
    assert result.problems == [] and len(result.documents) == 1
    return result.documents[0]


def map_ok(parsed: ParsedDocument, partner: str, doctype: str):
    document, problems = ENGINE.map(parsed, load_mapping(MAPPINGS, partner, doctype), Source(partner_id=partner))
    assert problems == []
    return document


def test_x12_tree_helper_has_the_readers_shape():
    tree = parsed_x12("summit-850-booked.edi").tree
    assert tree["BEG"] == [{"BEG01": "00", "BEG02": "SA", "BEG03": "SUM-PO-1001", "BEG05": "20261115", "_line": 4}]
    assert tree["N1_LOOP"][0]["N4"][0]["N401"] == "TULSA"
    assert tree["PO1_LOOP"][0]["PID_LOOP"][0]["PID"][0]["PID05"] == "CORDLESS DRILL 18V"
    assert tree["CTT_LOOP"][0]["CTT"][0]["CTT01"] == "2"


# ---------------------------------------------------------------------------------------------
# Every scenario order maps to exact canonical values


def test_summit_850():
    po = map_ok(parsed_x12("summit-850-booked.edi"), "P-SUMMIT", "850")
    assert (po.po_number, po.order_date, po.purpose, po.currency) == ("SUM-PO-1001", date(2026, 11, 15), "00", "USD")
    assert po.requested_ship_date == date(2026, 12, 1)
    assert po.customer_account is None and po.stated_total is None
    assert [(r.qualifier, r.value) for r in po.references] == [("DP", "042")]
    (ship_to,) = po.parties
    assert ship_to.model_dump() == {
        "role": "ST", "name": "SUMMIT HARDWARE STORE 42", "id_qualifier": "92", "id": "0042",
        "address": ["1200 COMMERCE BLVD"], "city": "TULSA", "state": "OK", "postal_code": "74103", "country": "US",
    }
    first, second = po.lines
    assert (first.line_no, first.quantity, first.uom, first.unit_price) == (1, 12, "EA", Decimal("115.00"))
    assert first.item == ItemIds(buyer_part="SUM-77810", vendor_part="HS-2001")
    assert first.description == "CORDLESS DRILL 18V"
    assert (second.line_no, second.quantity, second.unit_price) == (2, 40, Decimal("11.25"))
    assert second.item == ItemIds(buyer_part="SUM-10012")
    assert second.description == "HEX BOLT 1/2 ZINC"
    assert po.source.partner_id == "P-SUMMIT"


def test_lakeside_850_5010():
    po = map_ok(parsed_x12("lakeside-850-5010-booked.edi"), "P-LAKESIDE", "850")
    assert (po.po_number, po.order_date) == ("LR-55001", date(2026, 11, 16))
    (line,) = po.lines
    assert (line.line_no, line.quantity, line.uom, line.unit_price) == (1, 60, "EA", Decimal("4.66"))
    assert line.item == ItemIds(vendor_part="HS-3001")


def test_pioneer_850_without_descriptions():
    po = map_ok(parsed_x12("pioneer-850-credit-hold.edi"), "P-PIONEER", "850")
    assert (po.po_number, po.order_date) == ("PB-7001", date(2026, 11, 17))
    (line,) = po.lines
    assert (line.quantity, line.unit_price, line.item, line.description) == (2, Decimal("149.00"), ItemIds(vendor_part="HS-2002"), None)


def test_metro_csv():
    po = map_ok(read_one(DelimitedReader(), "metro-order.csv", "P-METRO"), "P-METRO", "order")
    assert (po.po_number, po.order_date, po.customer_account) == ("MFS-3301", date(2026, 11, 17), None)
    assert po.parties[0].model_dump() == {
        "role": "ST", "name": "Metro Facility Services HQ", "id_qualifier": None, "id": None,
        "address": ["400 Lake St"], "city": "Chicago", "state": "IL", "postal_code": "60601", "country": None,
    }
    assert [(l.line_no, l.item.vendor_part, l.quantity, l.uom, l.unit_price, l.description) for l in po.lines] == [
        (1, "HS-3002", 24, "EA", Decimal("9.80"), "Work gloves, large"),
        (2, "HS-2001", 8, "EA", Decimal("129.00"), "Cordless drill 18V"),
    ]


def test_cascade_json():
    po = map_ok(read_one(JsonReader(), "cascade-order.json", "P-CASCADE"), "P-CASCADE", "order")
    assert (po.po_number, po.order_date, po.customer_account, po.currency) == ("CO-2026-000815", date(2026, 11, 18), "C500", "USD")
    assert po.parties[0].address == ["18 Pier Ave"] and po.parties[0].state == "WA"
    (line,) = po.lines
    assert (line.line_no, line.quantity, line.unit_price) == (1, 30, Decimal("126.42"))
    assert line.item == ItemIds(buyer_part="CO-DRILL18")


def test_meridian_cxml():
    po = map_ok(read_one(CxmlReader(), "meridian-order.xml", "P-MERIDIAN"), "P-MERIDIAN", "order")
    assert (po.po_number, po.order_date, po.purpose, po.currency) == ("MHS-44120", date(2026, 11, 18), "00", "USD")
    assert po.stated_total == Decimal("231.60")
    ship_to = po.parties[0]
    assert (ship_to.id, ship_to.name, ship_to.address, ship_to.city, ship_to.country) == (
        "MHS-DOCK2", "Meridian Health Central Receiving", ["2400 Medical Pkwy"], "Dallas", "US",
    )
    assert [(l.line_no, l.quantity, l.uom, l.unit_price, l.item, l.description) for l in po.lines] == [
        (1, 24, "EA", Decimal("4.75"), ItemIds(vendor_part="HS-3001"), "Safety glasses, clear lens"),
        (2, 12, "EA", Decimal("9.80"), ItemIds(vendor_part="HS-3002"), "Work gloves, large"),
    ]


# ---------------------------------------------------------------------------------------------
# Problems: all of them, each located


def test_every_problem_is_collected_and_located():
    text = (DOCUMENTS / "summit-850-booked.edi").read_text()
    text = text.replace("BEG*00*SA*SUM-PO-1001**20261115", "BEG*00*SA*SUM-PO-1001**20261345")
    text = text.replace("PO1*1*12*EA*115.00", "PO1*1*twelve*EA*1I5.00").replace("PO1*2*40*EA", "PO1*2*40*BX")
    text = text.replace("*BP*SUM-10012", "*ZZ*SUM-10012")
    parsed = ParsedDocument(index=1, doc_type="850", tree=x12_tree(text))
    document, problems = ENGINE.map(parsed, load_mapping(MAPPINGS, "P-SUMMIT", "850"), Source(partner_id="P-SUMMIT"))
    assert document is None
    found = {(p.location.element, p.location.line): p.message for p in problems}
    assert found == {
        ("order_date", 4): 'order_date "20261345" is not a date in the form %Y%m%d (read from BEG[0].BEG05)',
        ("lines[1].quantity", 11): 'quantity "twelve" is not a whole number (read from PO1[0].PO102)',
        ("lines[1].unit_price", 11): 'unit_price "1I5.00" is not a decimal number (read from PO1[0].PO104)',
        ("lines[2].uom", 13): 'uom "BX" is not one of EA, CA, CS (table units) (read from PO1[0].PO103)',
        ("lines[2].item", 13): (
            'item ["ZZ", "SUM-10012"] is not a list of qualifier/id pairs with a known qualifier'
            " (BP, VP, UP, UK, EN) (read from PO1[0].[PO106, PO107, PO108, PO109, PO110, PO111, PO112, ...)"
        ),
    }


def test_csv_value_problem_names_csv_line_and_column():
    raw = (DOCUMENTS / "metro-order.csv").read_bytes().replace(b",2,HS-2001,8,", b",2,HS-2001,twelve,")
    mapping = load_mapping(MAPPINGS, "P-METRO", "order")
    (parsed,) = DelimitedReader().read(raw, mapping.source).documents
    document, (problem,) = ENGINE.map(parsed, mapping, Source(partner_id="P-METRO"))
    assert document is None
    assert problem.message == 'quantity "twelve" is not a whole number (read from quantity)'
    assert (problem.location.element, problem.location.line) == ("lines[2].quantity", 3)


def test_missing_values_and_missing_lines():
    parsed = ParsedDocument(index=1, doc_type="order", tree={"id": "X-1", "items": []})
    document, problems = ENGINE.map(parsed, load_mapping(MAPPINGS, "P-CASCADE", "order"), Source(partner_id="P-CASCADE"))
    assert document is None
    assert [(p.code, p.location.element, p.message) for p in problems] == [
        ("map:missing", "order_date", "order_date is missing: nothing found at created_at"),
        ("map:missing", "lines", "lines: none found at items"),
    ]


def test_model_validation_errors_become_problems_once():
    tree = {"id": {"not": "a string"}, "created_at": "2026-11-18", "items": [{"product_code": "CO-DRILL18", "quantity": "3.5"}]}
    parsed = ParsedDocument(index=1, doc_type="order", tree=tree)
    document, problems = ENGINE.map(parsed, load_mapping(MAPPINGS, "P-CASCADE", "order"), Source(partner_id="P-CASCADE"))
    assert document is None
    assert [(p.location.element, p.message) for p in problems] == [
        ("lines[1].quantity", 'quantity "3.5" is not a whole number (read from quantity)'),
        ("po_number", 'po_number {"not": "a string"} is not valid: Input should be a valid string'),
    ]


# ---------------------------------------------------------------------------------------------
# Loading: extends, caching, configuration errors


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    shutil.copytree(MAPPINGS / "_base", tmp_path / "_base")
    return tmp_path


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_extends_overrides_adds_and_removes(mappings: Path):
    write(mappings / "P-X" / "850.yaml", """
extends: _base/x12-850.yaml
fields:
  customer_account: {value: C999}           # added
  po_number: {expr: "BEG[0].BEG03", transform: upper}
  references: null                          # removed
  lines:
    fields:
      description: null
      uom: {value: CA}                      # replaces the inherited lookup whole
tables:
  item_qualifiers: {ZZ: buyer_part}         # one entry added to an inherited table
""")
    parsed = parsed_x12("summit-850-booked.edi")
    parsed.tree["PO1_LOOP"][1]["PO1"][0]["PO106"] = "ZZ"
    mapping = load_mapping(mappings, "P-X", "850")
    assert mapping.name == "P-X/850.yaml extends _base/x12-850.yaml"
    po = map_ok_with(parsed, mapping)
    assert (po.customer_account, po.references) == ("C999", [])
    assert [(l.uom, l.description, l.item.buyer_part) for l in po.lines] == [("CA", None, "SUM-77810"), ("CA", None, "SUM-10012")]
    assert po.parties[0].city == "TULSA"  # inherited untouched


def map_ok_with(parsed: ParsedDocument, mapping):
    document, problems = ENGINE.map(parsed, mapping, Source(partner_id="P-X"))
    assert problems == []
    return document


def test_bad_expression_is_a_configuration_error_naming_file_and_field(mappings: Path):
    write(mappings / "P-X" / "850.yaml", "extends: _base/x12-850.yaml\nfields:\n  lines:\n    fields:\n      quantity: PO1[0].PO102(\n")
    with pytest.raises(ConfigurationError) as raised:
        load_mapping(mappings, "P-X", "850")
    message = str(raised.value)
    assert "P-X/850.yaml extends _base/x12-850.yaml" in message
    assert "field lines.quantity: expression 'PO1[0].PO102(' does not compile" in message


def test_every_configuration_mistake_is_reported_at_once():
    spec = {
        "document": "purchase_order",
        "fields": {
            "po_numbr": "BEG[0].BEG03",
            "order_date": {"expr": "x", "transform": "datetime"},
            "lines": {"each": "PO1_LOOP", "fields": {"uom": {"expr": "u", "transform": "lookup", "table": "nope"}, "quantity": {"expr": "q", "value": 1}}},
            "currency": {"expr": "c", "fromat": "%Y"},
        },
    }
    with pytest.raises(ConfigurationError) as raised:
        compile_mapping(spec, "inline.yaml")
    lines = str(raised.value).splitlines()
    assert lines[0] == "mapping inline.yaml is not valid:"
    assert lines[1].startswith("  - field po_numbr: PurchaseOrder has no field 'po_numbr' to map")
    assert lines[2:] == [
        "  - field order_date: unknown transform 'datetime' (known: date, decimal, int, upper, strip, lookup, qualified_ids, implied_decimal)",
        "  - field lines.uom: table 'nope' is not defined under tables: (defined: none)",
        "  - field lines.quantity: give exactly one of expr, value, position (got expr, value)",
        "  - field currency: unknown option(s) fromat",
    ]


def test_no_mapping_for_a_doctype():
    with pytest.raises(ConfigurationError, match=r"partner P-SUMMIT has no mapping for document type '810'.*mappings for P-SUMMIT: 850"):
        load_mapping(MAPPINGS, "P-SUMMIT", "810")
    with pytest.raises(ConfigurationError, match="cannot name a mapping file"):
        load_mapping(MAPPINGS, "..", "850")


def test_cache_reuses_until_the_file_changes(mappings: Path):
    path = mappings / "P-X" / "850.yaml"
    write(path, "extends: _base/x12-850.yaml\n")
    first = load_mapping(mappings, "P-X", "850")
    assert load_mapping(mappings, "P-X", "850") is first
    write(path, "extends: _base/x12-850.yaml\nfields: {customer_account: {value: C1}}\n")
    second = load_mapping(mappings, "P-X", "850")
    assert second is not first and second.digest != first.digest


def test_extends_cycle_and_escape(mappings: Path):
    write(mappings / "P-X" / "850.yaml", "extends: P-Y/850.yaml\n")
    write(mappings / "P-Y" / "850.yaml", "extends: P-X/850.yaml\n")
    with pytest.raises(ConfigurationError, match="extends itself"):
        load_mapping(mappings, "P-X", "850")
    write(mappings / "P-Z" / "850.yaml", "extends: ../../etc/passwd\n")
    with pytest.raises(ConfigurationError, match="not a mapping file under"):
        load_mapping(mappings, "P-Z", "850")


# ---------------------------------------------------------------------------------------------
# The precompiled fast path gives exactly what JMESPath gives


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from(["", "x", "EA"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(value=_json, expr=st.sampled_from(["a", "a.b", "a[0]", "a[-1].b", "a[1].b.c", "[0].a", "a.[b, c]", "a[0].[b, c.a]", "@",
                                          "a[?b=='x']", "a[?b[0].c=='EA' || b=='x']", "a[?b!=c && c=='']", "a[?b==`1`] | [0].c",
                                          "[?a=='x'] | [-1]", "a | b", "a[?b=='x'].c", "[a, b] | [?@] | [0]", "a[?b.c || c]"]))
def test_fast_paths_match_jmespath(value, expr: str):
    parsed = jmespath.compile(expr)
    assert engine._getter(parsed.parsed)(value) == parsed.search(value)
