"""Every customer-order sample of the reference scenario ends exactly as expected.yaml says,
each processed alone on a freshly seeded ERP: ERP rows, holds, exceptions and the bytes of the
acknowledgments in the partner's outbox. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from tests.conftest import DOCUMENTS
from tests.scenario_checks import EXPECTED, PARTNER_FOR_FILE, check_order

ORDER_SAMPLES = [name for name, e in EXPECTED.items() if e["type"] in ("850", "order")]


def test_all_eight_order_samples_are_covered():
    assert len(ORDER_SAMPLES) == 8


@pytest.mark.parametrize("sample", ORDER_SAMPLES)
def test_order_sample_outcome(sample, hub, erp, settings):
    path = DOCUMENTS / sample
    reports = hub.ingest_file(path, partner_id=PARTNER_FOR_FILE.get(path.suffix))
    assert len(reports) == 1, [r.to_dict() for r in reports]
    check_order(EXPECTED[sample], reports[0], hub, erp, settings)
