"""The supplier and 3PL samples of the reference scenario end exactly as expected.yaml says, each
processed alone on a freshly seeded ERP: ERP rows, holds, exceptions, and the files in the
partners' outboxes (the 997/999 to the sender; the 856 and 810 to the customer). SQLite and
PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import DOCUMENTS
from tests.scenario_checks import EXPECTED, check_supply

SUPPLY_SAMPLES = [name for name, e in EXPECTED.items() if e["type"] in ("856", "810")]


def test_all_three_supply_samples_are_covered():
    assert sorted(SUPPLY_SAMPLES) == ["apex-856-over-shipment.edi", "bayou-856-ship-confirm.edi", "delta-810-5010-matched.edi"]


@pytest.mark.parametrize("sample", SUPPLY_SAMPLES)
def test_supply_sample_outcome(sample, hub, erp, settings):
    reports = hub.ingest_file(DOCUMENTS / sample)
    assert len(reports) == 1, [r.to_dict() for r in reports]
    check_supply(EXPECTED[sample], reports[0], hub, erp, settings)


@pytest.mark.parametrize("version", ["004010", "005010"])
def test_the_856_and_810_we_write_read_back_clean(hub, settings, version):
    """Round trip: our own reader, pyx12 with our maps, and the standard mappings all take them."""
    from adapters.x12.oracle import run_pyx12
    from adapters.x12.reader import X12Reader
    from hub.canonical import Source
    from hub.mapping import MappingEngine, load_mapping

    summit = hub.ledger.partner_directory().get("P-SUMMIT")
    hub.ledger.save_partner(summit.model_copy(update={"x12_version": version}))  # the customer's own X12 version
    assert hub.ingest_file(DOCUMENTS / "bayou-856-ship-confirm.edi")[0].state == "answered"
    for kind, doctype in (("856", "856"), ("810", "810")):
        [path] = sorted((settings.outbox_dir / "P-SUMMIT").glob(f"*-{kind}-*.x12"))
        raw = path.read_bytes()
        result = X12Reader().read(raw)
        assert not result.problems and len(result.documents) == 1
        parsed = result.documents[0]
        assert (parsed.doc_type, parsed.control["version"], parsed.problems) == (doctype, version, [])
        oracle = run_pyx12(raw)
        assert oracle.skipped is None and [s.accepted for s in oracle.sets] == [True], oracle
        mapping = load_mapping(settings.mappings_dir, "P-APEX", doctype)  # the standard supplier mapping
        canonical, problems = MappingEngine().map(parsed, mapping, Source(partner_id="P-SUMMIT"))
        assert problems == []
        if kind == "856":
            assert canonical.carrier == "UPSN" and canonical.tracking == "1Z999AA10123456784"
            assert [(o.po_number, o.vendor_order) for o in canonical.orders] == [("SUM-PO-0950", "SO-900001")]
            assert [(i.quantity, i.item.vendor_part, i.item.upc) for i in canonical.orders[0].items] == [(10, "HS-2003", "012345000065")]
        else:
            assert (canonical.po_number, canonical.stated_total) == ("SUM-PO-0950", Decimal("750.50"))
            assert [(l.quantity, l.unit_price) for l in canonical.lines] == [(10, Decimal("75.05"))]
