"""X12 856 ship notices and 810 invoices: the scenario samples, built HL hierarchies, broken variants."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jmespath
import pytest

from adapters.x12.acknowledgment import group_acknowledgment
from adapters.x12.reader import X12Reader

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_x12_reader import DOCS, edit, one_problem, replace  # shared helpers

APEX = (DOCS / "apex-856-over-shipment.edi").read_bytes()
BAYOU = (DOCS / "bayou-856-ship-confirm.edi").read_bytes()
DELTA = (DOCS / "delta-810-5010-matched.edi").read_bytes()
READER = X12Reader()

ORDERS = "HL_LOOP[?HL[0].HL03=='O']"
ITEMS = "_within[?HL[0].HL03=='I']"
SSCCS = "_within[?HL[0].HL03=='P' || HL[0].HL03=='T'].MAN[] | [?MAN01=='GM'].MAN02"


def interchange(version: str, body: list[str]) -> bytes:
    """One interchange holding one 856: ST, `body`, SE, with right counts."""
    isa11, isa12 = ("^", "00501") if version.startswith("005") else ("U", "00401")
    isa = f"ISA*00*          *00*          *ZZ*SUPPLIER       *ZZ*HARBORSUPPLY   *261115*0930*{isa11}*{isa12}" \
          "*000000777*0*P*>"
    segments = [
        isa,
        f"GS*SH*SUPPLIER*HARBORSUPPLY*20261115*0930*777*X*{version}",
        "ST*856*0001", *body, f"SE*{len(body) + 2}*0001", "GE*1*777", "IEA*1*000000777"]
    return ("~\n".join(segments) + "~\n").encode("latin-1")


def sscc(serial: int) -> str:
    """An SSCC-18 with its application identifier 00, as MAN*GM carries it (GS1 mod-10 check digit)."""
    digits = f"00614141{serial:09d}"  # extension digit, GS1 company prefix 0614141, serial
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(digits))
    return f"00{digits}{(10 - total % 10) % 10}"


LEVEL_SEGMENTS = {
    "S": lambda n: ["TD1*CTN25*4****G*120*LB", "TD5*B*2*UPSN*M*UPS GROUND", "REF*BM*BOL-900", "DTM*011*20261118",
                    "N1*ST*HARBOR SUPPLY DALLAS DC*92*DAL"],
    "O": lambda n: [f"PRF*PO-{n}"],
    "T": lambda n: ["PKG*F*68***PALLET", f"MAN*GM*{sscc(n)}"],
    "P": lambda n: ["PO4*1*12*EA", f"MAN*GM*{sscc(n)}"],
    "I": lambda n: [f"LIN**VP*ITEM-{n}", "SN1**12*EA"],
}


def ship_notice(shape: str, version: str = "004010") -> bytes:
    """An 856 whose HL levels follow `shape`, e.g. "S O P I P I": each level's parent is the nearest
    level before it that is higher in S > O > T > P > I."""
    rank = "SOTPI"
    body = ["BSN*00*ASN-1*20261118*1400*0001"]
    levels: list[str] = []
    for number, level in enumerate(shape.split(), 1):
        parent = next((n for n in range(len(levels), 0, -1) if rank.index(levels[n - 1]) < rank.index(level)), None)
        body.append(f"HL*{number}*{parent or ''}*{level}")
        body.extend(LEVEL_SEGMENTS[level](number))
        levels.append(level)
    body.append(f"CTT*{len(levels)}")
    return interchange(version, body)


def read_one(raw: bytes):
    result = READER.read(raw)
    assert len(result.documents) == 1
    return result, result.documents[0]


@pytest.mark.parametrize("raw", [APEX, BAYOU, DELTA], ids=["apex-856", "bayou-856", "delta-810-5010"])
def test_scenario_samples_read_clean(raw):
    result, doc = read_one(raw)
    assert not result.problems and not doc.problems, [p.describe() for p in doc.problems]
    json.dumps(doc.tree)  # `_within` holds plain references: no cycles


def test_apex_tree():
    _, doc = read_one(APEX)
    tree = doc.tree
    assert doc.doc_type == "856" and doc.control["functional_id"] == "SH"
    assert tree["BSN"][0]["BSN02"] == "ASN-77001"
    loops = tree["HL_LOOP"]
    assert [loop["HL"][0]["HL01"] for loop in loops] == ["1", "2", "3", "4", "5"]
    shipment, order, first_item = loops[0], loops[1], loops[2]
    assert first_item["LIN"][0]["LIN03"] == "APX-HB12" and first_item["SN1"][0]["SN102"] == "200"
    assert order["_within"] == loops[2:] and all(loop["_within"] == [] for loop in loops[2:])
    assert shipment["_within"] == loops[1:]
    assert jmespath.search(ORDERS, tree) == [order]
    assert [i["LIN"][0]["LIN03"] for i in jmespath.search(ITEMS, order)] == ["APX-HB12", "APX-HN12", "APX-SG01"]
    assert shipment["TD5"][0]["TD503"] == "ODFL" and order["PRF"][0]["PRF01"] == "4500012"
    assert tree["CTT"][0]["CTT01"] == "5"


def test_bayou_tree():
    _, doc = read_one(BAYOU)
    order = jmespath.search(ORDERS, doc.tree)[0]
    assert order["PRF"][0]["PRF01"] == "SUM-PO-0950" and order["REF"][0]["REF02"] == "SO-900001"
    assert [(i["LIN"][0]["LIN03"], i["SN1"][0]["SN102"]) for i in jmespath.search(ITEMS, order)] == [("HS-2003", "10")]


def test_delta_tree():
    _, doc = read_one(DELTA)
    tree = doc.tree
    assert doc.doc_type == "810" and doc.control["version"] == "005010" and doc.control["functional_id"] == "IN"
    assert tree["BIG"][0]["BIG02"] == "DT-INV-88001" and tree["BIG"][0]["BIG04"] == "4500013"
    assert [n["N1"][0]["N101"] for n in tree["N1_LOOP"]] == ["RE", "BT"]
    lines = tree["IT1_LOOP"]
    assert [(line["IT1"][0]["IT102"], line["IT1"][0]["IT104"], line["IT1"][0]["IT107"]) for line in lines] == [
        ("24", "78.00", "DT-CD18"), ("40", "44.25", "DT-BP184")]
    assert tree["TDS"][0]["TDS01"] == "364200" and tree["ITD"][0]["ITD07"] == "30"


SHAPES = {"S-O-I": "S O I I", "S-O-P-I": "S O P I P I O P I", "S-O-T-P-I": "S O T P I P I T P I"}


@pytest.mark.parametrize("version", ["004010", "005010"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_built_hierarchies_read_clean(shape, version):
    _, doc = read_one(ship_notice(SHAPES[shape], version))
    assert not doc.problems, [p.describe() for p in doc.problems]
    levels = SHAPES[shape].split()
    loops = doc.tree["HL_LOOP"]
    assert [loop["HL"][0]["HL03"] for loop in loops] == levels
    orders = jmespath.search(ORDERS, doc.tree)
    assert sum(len(jmespath.search(ITEMS, order)) for order in orders) == levels.count("I")
    containers = [sscc(n) for n, level in enumerate(levels, 1) if level in "TP"]
    assert [s for order in orders for s in jmespath.search(SSCCS, order)] == containers
    assert all(len(code) == 20 and code.isdigit() for code in containers)
    if "T" in levels:  # a tare holds its packs and their items
        tare = loops[levels.index("T")]
        assert [loop["HL"][0]["HL03"] for loop in tare["_within"]] == ["P", "I", "P", "I"]


def without_lines(prefix: str):
    return lambda raw: edit(raw, lambda lines: [line for line in lines if not line.startswith(prefix)])


# name: (sample, change, code, segment, position, element)
BAD = {
    "HL parent points nowhere": (APEX, replace("HL*5*2*I", "HL*5*9*I"), "seg:8", "HL", 18, "HL02"),
    "first HL has a parent": (APEX, replace("HL*1**S", "HL*1*1*S"), "seg:8", "HL", 3, "HL02"),
    # order 4 under the shipment closes order 2: item 5 can no longer name it
    "parent already closed": (APEX, replace("HL*4*2*I", "HL*4*1*O"), "seg:8", "HL", 18, "HL02"),
    "HL01 out of sequence": (APEX, replace("HL*4*2*I", "HL*7*2*I"), "seg:8", "HL", 15, "HL01"),
    "item without order": (APEX, replace("HL*5*2*I", "HL*5*1*I"), "ele:7", "HL", 18, "HL03"),
    "order without shipment": (APEX, replace("HL*2*1*O", "HL*2**O"), "ele:7", "HL", 10, "HL03"),
    "SN102 not a number": (APEX, replace("SN1**200*EA", "SN1**2OO*EA"), "ele:6", "SN1", 14, "SN102"),
    "810 without IT1": (DELTA, without_lines("IT1*"), "seg:3", "IT1", 6, None),
    "IT102 not a number": (DELTA, replace("IT1*1*24*EA*78.00**VP*DT-CD18", "IT1*1*24X*EA*78.00**VP*DT-CD18"),
                           "ele:6", "IT1", 6, "IT102"),
    "TDS01 with a decimal point": (DELTA, replace("TDS*364200", "TDS*3642.00"), "ele:6", "TDS", 8, "TDS01"),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_set_gives_located_problem(name):
    sample, change, code, segment, position, element = BAD[name]
    result, doc = read_one(change(sample))
    problem = one_problem(result, code)
    loc = problem.location
    assert (loc.segment_id, loc.segment_position, loc.element) == (segment, position, element), problem.describe()
    assert loc.line and loc.column and loc.transaction_set == "0001"
    assert len(doc.problems) == 1, [p.describe() for p in doc.problems]


def test_hierarchy_messages_say_what_is_wrong():
    def message(name):
        sample, change, code, *_ = BAD[name]
        return one_problem(READER.read(change(sample)), code).message

    assert message("HL parent points nowhere") == "HL 5 names parent 9, which is not an enclosing HL level in this " \
                                                  "transaction set"
    assert "first HL" in message("first HL has a parent")
    assert "'7'" in message("HL01 out of sequence") and "HL level 4" in message("HL01 out of sequence")
    assert message("item without order").startswith("item level HL 5 is not inside an order level")
    assert message("order without shipment").startswith("order level HL 2 is not inside a shipment level")


def test_hierarchy_faults_in_the_acknowledgment():
    """seg:8 gives an AK3 with code 8 and no AK4; the 856 level rule an AK4 for HL03 with code 7."""
    def body(name):
        sample, change, *_ = BAD[name]
        result = READER.read(change(sample))
        return group_acknowledgment(result.envelope[0].groups[0], True, ">")[1]

    parent = body("HL parent points nowhere")
    assert ["AK3", "HL", "18", "", "8"] in parent and ["AK5", "R", "5"] in parent
    assert not [segment for segment in parent if segment[0] == "AK4"]
    level = body("item without order")
    assert ["AK3", "HL", "18", "", "8"] in level and ["AK4", "3", "", "7"] in level


def test_sets_without_hl_levels_get_no_within():
    _, doc = read_one(DELTA)
    assert "_within" not in json.dumps(doc.tree)
