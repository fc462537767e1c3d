"""Idempotency under crashes: the process dies between the ERP write and the ledger update;
`hub resume` (which gives back at once the claims of a dead process on this machine) finishes the
document and the ERP still holds exactly one order."""

from __future__ import annotations

from sqlalchemy import text

from hub.failpoints import EXIT_CODE
from tests.conftest import DOCUMENTS, hub_command


def test_crash_after_erp_post_then_resume_posts_once(hub, settings):
    sample = DOCUMENTS / "summit-850-booked.edi"
    crashed = hub_command(settings, "ingest", str(sample), HUB_FAILPOINT="after-erp-post")
    assert crashed.returncode == EXIT_CODE, crashed.stderr

    with hub.erp_engine.connect() as erp:
        assert erp.execute(text("SELECT count(*) FROM sales_orders WHERE customer_po = 'SUM-PO-1001'")).scalar() == 1
    with hub.ledger.engine.connect() as ledger:
        # a one-order file is decided as it is split: the ERP committed, the ledger's step did not
        assert ledger.execute(text("SELECT status, lease_until IS NOT NULL FROM interchanges")).one() == ("received", True)
        assert ledger.execute(text("SELECT count(*) FROM documents")).scalar() == 0

    resumed = hub_command(settings, "resume", "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert '"state": "answered"' in resumed.stdout

    with hub.erp_engine.connect() as erp:
        orders = erp.execute(text("SELECT order_id FROM sales_orders WHERE customer_po = 'SUM-PO-1001'")).scalars().all()
        allocated = erp.execute(text("SELECT allocated FROM inventory WHERE warehouse = 'DAL' AND sku = 'HS-2001'")).scalar()
    assert len(orders) == 1
    assert allocated == 12  # allocated once, not twice
    with hub.ledger.engine.connect() as ledger:
        outcomes = ledger.execute(text("SELECT outcome FROM postings")).scalars().all()
        erp_ref = ledger.execute(text("SELECT erp_ref FROM documents")).scalar()
    assert outcomes == ["replayed"]
    assert erp_ref == orders[0]

    again = hub_command(settings, "resume")
    assert "nothing to resume" in again.stdout
