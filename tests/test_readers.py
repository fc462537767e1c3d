"""The CSV, JSON and cXML readers on real files: good ones, broken ones and hostile ones."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.delimited.reader import DelimitedReader
from adapters.jsondoc.reader import JsonReader
from adapters.xmldoc.reader import CxmlReader
from hub.canonical import Source
from hub.mapping import MappingEngine, load_mapping
from hub.ports import FormatReader

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ROOT / "samples" / "scenario" / "documents"
METRO_OPTIONS = load_mapping(ROOT / "mappings", "P-METRO", "order").source
READERS = [DelimitedReader(), JsonReader(), CxmlReader()]


def sample(name: str) -> bytes:
    return (DOCUMENTS / name).read_bytes()


def messages(result) -> list[str]:
    return [p.message for p in result.problems]


def test_readers_implement_the_port_and_register():
    class Registry:
        def __init__(self):
            self.readers = []

        def add_reader(self, reader):
            self.readers.append(reader)

    import adapters.delimited
    import adapters.jsondoc
    import adapters.xmldoc

    registry = Registry()
    for package in (adapters.delimited, adapters.jsondoc, adapters.xmldoc):
        package.register(registry)
    assert [r.name for r in registry.readers] == ["csv", "json", "xml"]
    assert all(isinstance(r, FormatReader) for r in registry.readers)


def test_sniffing_tells_the_samples_apart():
    names = ["metro-order.csv", "cascade-order.json", "meridian-order.xml", "summit-850-booked.edi"]
    assert {name: [r.name for r in READERS if r.sniff(sample(name))] for name in names} == {
        "metro-order.csv": ["csv"],
        "cascade-order.json": ["json"],
        "meridian-order.xml": ["xml"],
        "summit-850-booked.edi": [],
    }


# ---------------------------------------------------------------------------------------------
# CSV


def test_csv_rows_grouped_into_orders():
    raw = sample("metro-order.csv") + b"MFS-3302,2026-11-18,Metro Annex,1 Side St,Chicago,IL,60602,1,HS-3001,5,4.75,Glasses\n"
    result = DelimitedReader().read(raw, METRO_OPTIONS)
    assert result.problems == []
    first, second = result.documents
    assert [row["_line"] for row in first.tree["rows"]] == [2, 3]
    assert first.tree["header"]["order_number"] == "MFS-3301" and first.tree["_line"] == 2
    assert first.tree["rows"][0]["description"] == "Work gloves, large"
    assert (second.index, second.tree["header"]["order_number"], second.tree["_line"]) == (2, "MFS-3302", 4)


def test_csv_missing_required_column():
    raw = sample("metro-order.csv").replace(b",quantity,", b",qty,", 1)
    result = DelimitedReader().read(raw, METRO_OPTIONS)
    assert result.documents == []
    (problem,) = result.problems
    assert problem.message == (
        "column 'quantity' is missing from the header (line 1); found: order_number, order_date, ship_to_name,"
        " ship_to_address, ship_to_city, ship_to_state, ship_to_zip, line, sku, qty, unit_price, description"
    )
    assert (problem.location.line, problem.location.element) == (1, "quantity")


def test_csv_ragged_rows_are_all_reported():
    lines = sample("metro-order.csv").splitlines(keepends=True)
    raw = lines[0] + lines[1].replace(b',"Work gloves, large"', b"") + lines[2] + lines[2] + b"x,y\n"
    result = DelimitedReader().read(raw, METRO_OPTIONS)
    assert result.documents == []
    assert messages(result) == ["line 2 has 11 fields, the header has 12", "line 5 has 2 fields, the header has 12"]
    assert [p.location.line for p in result.problems] == [2, 5]


def test_csv_non_numeric_quantity_is_a_mapping_problem_at_its_line():
    raw = sample("metro-order.csv").replace(b",1,HS-3002,24,", b",1,HS-3002,twenty-four,")
    mapping = load_mapping(ROOT / "mappings", "P-METRO", "order")
    (parsed,) = DelimitedReader().read(raw, mapping.source).documents
    document, (problem,) = MappingEngine().map(parsed, mapping, Source(partner_id="P-METRO"))
    assert document is None
    assert problem.describe() == 'quantity "twenty-four" is not a whole number (read from quantity) (at lines[1].quantity, line 2)'


@pytest.mark.parametrize(
    ("raw", "expected", "line"),
    [
        (b"", "the file is empty: expected a header line and order rows", None),
        (b"\n \n", "the file is empty: expected a header line and order rows", None),
        (b"order_number,order_date,line,sku,quantity\n", "the file has a header but no order rows", 1),
        (
            b"order_number,order_date,line,sku,quantity\nA-1,2026-11-17,1,Caf\xe9,3\n",
            "the file is not UTF-8 text: byte 0xE9 at byte offset 62 (line 2, byte 21 of the line) is not valid UTF-8;"
            " send the file as UTF-8",
            2,
        ),
        (
            b'order_number,order_date,line,sku,quantity\nA-1,2026-11-17,1,"HS-1"x,3\n',
            "line 2 is not valid CSV: ',' expected after '\"'",
            2,
        ),
        (b"order_number,order_date,line,sku,quantity\n,2026-11-17,1,HS-1,3\n", "line 2 has no order_number, so it belongs to no order", 2),
    ],
)
def test_csv_file_problems(raw: bytes, expected: str, line: int | None):
    result = DelimitedReader().read(raw, METRO_OPTIONS)
    assert result.documents == []
    assert messages(result) == [expected]
    assert result.problems[0].location.line == line


@pytest.mark.parametrize("newline", [b"\r\n", b"\n"])
def test_csv_bom_and_either_line_ending_are_tolerated(newline: bytes):
    raw = b"\xef\xbb\xbf" + sample("metro-order.csv").replace(b"\r\n", newline)
    (document,) = DelimitedReader().read(raw, METRO_OPTIONS).documents
    assert "order_number" in document.tree["header"] and document.tree["rows"][1]["_line"] == 3


# ---------------------------------------------------------------------------------------------
# JSON


def test_json_array_of_orders_each_its_own_document():
    result = JsonReader().read(b'[{"id": "A"}, "oops", {"id": "B"}]')
    assert result.problems == []
    assert [(d.index, d.tree, messages(d)) for d in result.documents] == [
        (1, {"id": "A"}, []),
        (2, {}, ["array element 2 is a string, expected an order object"]),
        (3, {"id": "B"}, []),
    ]


def test_json_money_stays_exact():
    (document,) = JsonReader().read(b'{"price": 126.42, "n": 3}').documents
    assert str(document.tree["price"]) == "126.42" and document.tree["n"] == 3


@pytest.mark.parametrize(
    ("raw", "expected", "where"),
    [
        (b'"an order"', "the file holds a string, expected an order object or a non-empty array of them", (None, None)),
        (b"42", "the file holds a number, expected an order object or a non-empty array of them", (None, None)),
        (b"[1, 2]", None, None),  # an array of non-objects: each element is a rejected document
        (b"[]", "the file holds an array, expected an order object or a non-empty array of them", (None, None)),
        (b'{\n  "id": "A",\n  "items": [1,, 2]\n}', "the file is not valid JSON: Expecting value at line 3, column 15", (3, 15)),
        (b'{"id": "A"} trailing', "the file is not valid JSON: Extra data at line 1, column 13", (1, 13)),
        (b'{"qty": NaN}', "the file is not usable JSON: NaN is not a JSON number", (None, None)),
        (b'{"id": "Caf\xe9"}', "the file is not UTF-8 text: byte 0xE9 at byte offset 11 (line 1) is not valid UTF-8", (1, None)),
    ],
)
def test_json_problems(raw: bytes, expected: str | None, where):
    result = JsonReader().read(raw)
    if expected is None:
        assert result.problems == [] and all(d.problems for d in result.documents)
        return
    assert messages(result) == [expected] and result.documents == []
    assert (result.problems[0].location.line, result.problems[0].location.column) == where


@pytest.mark.parametrize("depth", [65, 5000, 200_000])
def test_json_too_deep(depth: int):
    raw = b'{"a": ' * depth + b"1" + b"}" * depth
    assert messages(JsonReader().read(raw)) == ["the JSON nests objects and arrays more than 64 levels deep"]


def test_json_at_the_depth_limit_is_fine():
    raw = b"[" * 63 + b'{"a": 1}' + b"]" * 63
    assert JsonReader().read(raw).problems == []


def test_json_size_limit():
    raw = b'{"pad": "' + b"x" * 200 + b'"}'
    assert messages(JsonReader().read(raw, {"max_bytes": 100})) == [
        "the file is 211 bytes, more than the 100 bytes accepted for a JSON order"
    ]


# ---------------------------------------------------------------------------------------------
# cXML


def test_meridian_sample_with_its_doctype_is_read_without_the_network():
    started = time.monotonic()
    result = CxmlReader().read(sample("meridian-order.xml"))
    assert time.monotonic() - started < 1  # no attempt to fetch http://xml.cxml.org/...cXML.dtd
    assert result.problems == [] and result.sender == ("NetworkID", "MERIDIANHS")
    (document,) = result.documents
    tree = document.tree
    assert document.control == {"payload_id": "1763458200.4471@procurement.meridian.example"}
    assert tree["@lang"] == "en-US" and tree["_line"] == 3
    header = tree["Request"][0]["OrderRequest"][0]["OrderRequestHeader"][0]
    assert (header["@orderID"], header["_line"]) == ("MHS-44120", 14)
    assert header["Total"][0]["Money"][0] == {"_line": 15, "@currency": "USD", "#text": "231.60"}
    items = tree["Request"][0]["OrderRequest"][0]["ItemOut"]
    assert [(i["@lineNumber"], i["ItemID"][0]["SupplierPartID"][0]["#text"]) for i in items] == [("1", "HS-3001"), ("2", "HS-3002")]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE cXML [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<cXML><Request><OrderRequest><OrderRequestHeader orderID="&lol9;"/></OrderRequest></Request></cXML>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE cXML [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<cXML><Request><OrderRequest><OrderRequestHeader orderID="x"><Comments>&xxe;</Comments></OrderRequestHeader></OrderRequest></Request></cXML>
"""


@pytest.mark.parametrize(("raw", "line"), [(BILLION_LAUGHS, 3), (EXTERNAL_ENTITY, 2)])
def test_xml_declaring_entities_is_rejected_never_expanded(raw: bytes, line: int):
    result = CxmlReader().read(raw)
    assert result.documents == []
    (problem,) = result.problems
    assert problem.message == (
        f"the document declares entities in its DOCTYPE, which the hub never expands (line {line}); send it without them"
    )
    assert "root:" not in repr(result)


def test_an_external_dtd_is_never_loaded(tmp_path: Path):
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY secret "LEAKED">\n<!ATTLIST OrderRequestHeader type CDATA "FROM-DTD">\n')
    raw = (
        f'<?xml version="1.0"?>\n<!DOCTYPE cXML SYSTEM "{dtd.as_uri()}">\n'
        '<cXML><Request><OrderRequest><OrderRequestHeader orderID="1"><Comments>&secret;</Comments>'
        "</OrderRequestHeader></OrderRequest></Request></cXML>"
    ).encode()
    result = CxmlReader().read(raw)
    assert result.problems == []
    header = result.documents[0].tree["Request"][0]["OrderRequest"][0]["OrderRequestHeader"][0]
    assert header == {"_line": 3, "@orderID": "1", "Comments": [{"_line": 3}]}


def test_xml_entities_declared_in_utf16_are_rejected_too():
    result = CxmlReader().read(EXTERNAL_ENTITY.replace(b'version="1.0"', b'version="1.0" encoding="UTF-16"').decode().encode("utf-16"))
    assert [p.code for p in result.problems] == ["xml:entities"] and result.documents == []


def test_xml_not_well_formed():
    raw = b'<?xml version="1.0"?>\n<cXML>\n  <Request>\n    <OrderRequest>\n  </Request>\n</cXML>\n'
    (problem,) = CxmlReader().read(raw).problems
    assert problem.message == (
        "the file is not well-formed XML: Opening and ending tag mismatch: OrderRequest line 4 and Request (line 5, column 13)"
    )
    assert (problem.location.line, problem.location.column) == (5, 13)


def test_xml_size_limit():
    raw = sample("meridian-order.xml")
    assert messages(CxmlReader().read(raw, {"max_bytes": 1000})) == [
        f"the file is {len(raw):,} bytes, more than the 1,000 bytes accepted for an XML order"
    ]


def test_xml_too_deep():
    raw = b"<cXML>" + b"<a>" * 120 + b"</a>" * 120 + b"</cXML>"
    assert messages(CxmlReader().read(raw)) == ["the XML nests elements more than 100 levels deep (line 1)"]
    very_deep = b"<cXML>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</cXML>"
    assert [p.code for p in CxmlReader().read(very_deep).problems] == ["xml:syntax"]  # libxml2 stops at 256


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"<cXML><Request><PunchOutSetupRequest/></Request></cXML>", "the cXML request is PunchOutSetupRequest; the hub only accepts OrderRequest"),
        (b"<cXML><Response><Status code='200'/></Response></cXML>", "the cXML document carries Response; the hub only accepts an OrderRequest"),
        (b"<Order><Id>1</Id></Order>", "the root element is <Order>; the hub reads cXML documents (<cXML>)"),
    ],
)
def test_xml_only_order_requests(raw: bytes, expected: str):
    result = CxmlReader().read(raw)
    assert messages(result) == [expected] and result.documents == []


# ---------------------------------------------------------------------------------------------
# Nothing a partner sends raises


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(raw=st.one_of(
    st.binary(max_size=2000),
    st.sampled_from([b"<", b"{", b"[", b"order_number,a,b\n", b"\xef\xbb\xbf"]).flatmap(
        lambda head: st.binary(max_size=500).map(lambda tail: head + tail)
    ),
))
def test_random_bytes_never_raise(raw: bytes):
    for reader in READERS:
        reader.sniff(raw)
        result = reader.read(raw, METRO_OPTIONS if reader.name == "csv" else None)
        assert result.documents or result.problems
