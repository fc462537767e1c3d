"""Finance's reports on the reference scenario: every sample processed, plus a byte-identical
resend (duplicate), a file nobody can read and an 850 whose SE01 is wrong (rejected), and a Metro
order whose PO number is a spreadsheet formula. Each report's numbers are checked exactly; then
the ERP is tampered with and the ledger-vs-ERP report must list it; then the report is fetched
over HTTP and from the CLI, opened with openpyxl and rendered in headless Chromium."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import text

from hub.api import create_app
from hub.reports.catalog import Reports
from hub.reports.render import chunks
from tests.chromium import rendered_text
from tests.conftest import DOCUMENTS, hub_command, rows, token_for

SAMPLES = sorted(p for p in DOCUMENTS.iterdir() if p.suffix != ".yaml")
PARTNER_FOR_SUFFIX = {".csv": "P-METRO", ".json": "P-CASCADE"}
FORMULA_PO = '=HYPERLINK("http://x","<b>pay</b>")'  # fits the ERP's 40 characters


def broken_850() -> bytes:
    """Summit's booked 850 under a new ISA13 with SE01 counting one segment too many: the reader rejects the document."""
    raw = (DOCUMENTS / "summit-850-booked.edi").read_bytes()
    raw = raw.replace(b"*000000101*", b"*000000199*").replace(b"IEA*1*000000101", b"IEA*1*000000199")
    return re.sub(rb"SE\*(\d+)\*0001", lambda m: b"SE*%d*0001" % (int(m.group(1)) + 1), raw)


def formula_order() -> bytes:
    quoted = FORMULA_PO.replace('"', '""')
    return (b"order_number,order_date,ship_to_name,ship_to_address,ship_to_city,ship_to_state,ship_to_zip,line,sku,quantity,unit_price,description\n"
            + f'"{quoted}",2026-11-18,Metro HQ,400 Lake St,Chicago,IL,60601,1,HS-3002,2,9.80,Gloves\n'.encode())


@pytest.fixture
def scenario(hub):
    """The hub after every sample, a duplicate, two rejected files and the formula order."""
    for path in SAMPLES:
        hub.ingest_file(path, PARTNER_FOR_SUFFIX.get(path.suffix))
    hub.ingest_file(DOCUMENTS / "summit-850-booked.edi")  # the same bytes again
    hub.ingest_bytes(b"this is not an order\n", "junk.txt", "P-METRO")
    hub.ingest_bytes(broken_850(), "summit-broken.edi", None)
    hub.ingest_bytes(formula_order(), "metro-formula.csv", "P-METRO")
    return hub


def make(hub, settings, name: str, **kwargs):
    return Reports(settings, hub.ledger.engine, hub.erp).make(name, **kwargs)


def table(report, section: str) -> list[dict]:
    """A section's rows as dicts keyed by column key."""
    found = report.section(section)
    return [dict(zip((c.key for c in found.columns), row)) for row in found.rows()]


def only(found: list[dict], **match) -> dict:
    hits = [r for r in found if all(r[k] == v for k, v in match.items())]
    assert len(hits) == 1, (match, found)
    return hits[0]


# -- intake --------------------------------------------------------------------------------------------


def test_intake_accounts_for_every_document_received(scenario, settings):
    report = make(scenario, settings, "intake")
    received = table(report, "received")
    summit = only(received, partner="P-SUMMIT", type="850")
    # booked, price mismatch, the resend and the broken file; one envelope each, one 850 each
    assert (summit["files"], summit["groups"], summit["received"]) == (4, 4, 4)
    assert (summit["posted"], summit["held"], summit["rejected"], summit["duplicate"], summit["in_flight"], summit["break"]) == (1, 1, 1, 1, 0, 0)
    assert (summit["posted_amount"], summit["held_amount"]) == (Decimal("1830.00"), Decimal("752.85"))
    assert summit["segments"] > 0
    assert only(received, partner="P-DELTA", type="810")["posted_amount"] == Decimal("3642.00")
    assert only(received, partner="P-BAYOU", type="856")["posted_amount"] == Decimal("750.50")
    apex = only(received, partner="P-APEX", type="856")
    assert (apex["held"], apex["units"]) == (1, 620)
    metro_orders = only(received, partner="P-METRO", type="order")
    assert (metro_orders["received"], metro_orders["posted"] + metro_orders["held"]) == (2, 2)
    junk = only(received, partner="P-METRO", type="file")
    assert (junk["received"], junk["rejected"], junk["groups"]) == (1, 1, None)
    for row in received:  # the equation, row by row
        assert row["received"] == row["posted"] + row["held"] + row["rejected"] + row["duplicate"] + row["in_flight"], row
    assert table(report, "breaks") == []
    figures = {f.label: f.value for f in report.summary}
    assert figures["Documents received"] == sum(r["received"] for r in received) == 15
    assert figures["Received = posted + held + rejected + duplicate + in flight"] == "holds"
    assert figures["Breaks (documents unaccounted for)"] == 0


def test_intake_lists_a_file_whose_documents_do_not_add_up(scenario, settings):
    with scenario.ledger.engine.begin() as conn:  # a document row lost from the ledger
        doc_id = conn.execute(text("SELECT id FROM documents WHERE reference = 'LR-55001'")).scalar_one()
        conn.execute(text("DELETE FROM events WHERE document_id = :d"), {"d": doc_id})
        conn.execute(text("DELETE FROM postings WHERE document_id = :d"), {"d": doc_id})
        conn.execute(text("DELETE FROM documents WHERE id = :d"), {"d": doc_id})
    report = make(scenario, settings, "intake")
    [broken] = table(report, "breaks")
    assert (broken["partner"], broken["type"], broken["received"], broken["posted"], broken["break"]) == ("P-LAKESIDE", "850", 1, 0, 1)
    assert broken["filename"].endswith("lakeside-850-5010-booked.edi")
    figures = {f.label: f for f in report.summary}
    assert figures["Breaks (documents unaccounted for)"].value == 1 and figures["Breaks (documents unaccounted for)"].alarm


def test_intake_shows_acknowledgments_sent_received_and_overdue(scenario, settings):
    with scenario.ledger.engine.connect() as conn:
        group = rows(conn, "SELECT group_control FROM outbox WHERE partner_id = 'P-SUMMIT' AND kind = '855'")[0]["group_control"]
    ack = ("ISA*00*          *00*          *01*123456789      *ZZ*HARBORSUPPLY   *261122*1000*U*00401*000000777*0*P*>~"
           "GS*FA*SUMMITHW*HARBORSUPPLY*20261122*1000*777*X*004010~ST*997*0001~"
           f"AK1*PR*{group}~AK9*A*1*1*1~SE*4*0001~GE*1*777~IEA*1*000000777~").encode()
    scenario.ingest_bytes(ack, "summit-997.x12", None)
    later = datetime.now(UTC) + timedelta(hours=settings.ack_due_hours + 1)
    report = make(scenario, settings, "intake", now=later)
    sent = table(report, "sent")
    summit_855_row = only(sent, partner="P-SUMMIT", kind="855")
    assert (summit_855_row["sent"], summit_855_row["ack_expected"], summit_855_row["acknowledged"], summit_855_row["overdue"]) == (1, 1, 1, 0)
    assert only(sent, partner="P-SUMMIT", kind="997")["ack_expected"] == 0  # acknowledgments are not acknowledged
    overdue = table(report, "overdue")
    assert {(r["partner"], r["kind"]) for r in overdue} == {("P-SUMMIT", "856"), ("P-SUMMIT", "810"), ("P-LAKESIDE", "855")}
    assert all(r["hours_overdue"] >= 1 for r in overdue)
    assert only(table(report, "received"), partner="P-SUMMIT", type="997")["posted"] == 1
    now = table(make(scenario, settings, "intake"), "overdue")
    assert now == []  # within the due time nothing is overdue yet


# -- ledger vs ERP ---------------------------------------------------------------------------------------


def test_ledger_and_erp_agree_then_every_tampered_row_is_listed(scenario, settings, erp):
    report = make(scenario, settings, "ledger-vs-erp")
    tables = {r["table"]: r for r in table(report, "tables")}
    assert tables["sales_orders"]["hub_documents"] == tables["sales_orders"]["erp_rows"] == 9
    assert tables["sales_orders"]["hub_amount"] == tables["sales_orders"]["erp_amount"]
    assert (tables["ap_invoices"]["erp_rows"], tables["ap_invoices"]["erp_amount"]) == (1, Decimal("3642.00"))
    assert (tables["ar_invoices"]["erp_amount"], tables["shipments"]["erp_amount"]) == (Decimal("750.50"), None)
    assert table(report, "differences") == []

    summit_order = rows(erp, "SELECT order_id, source_document FROM sales_orders WHERE customer_po = 'SUM-PO-1001'")[0]
    cascade_order = rows(erp, "SELECT order_id, source_document FROM sales_orders WHERE customer_po = 'CO-2026-000815'")[0]
    erp.execute(text("UPDATE sales_orders SET total = total + 1 WHERE order_id = :o"), {"o": summit_order["order_id"]})
    erp.execute(text("UPDATE sales_orders SET source_document = 'hub:999999:1' WHERE order_id = :o"), {"o": cascade_order["order_id"]})
    erp.commit()
    differences = table(make(scenario, settings, "ledger-vs-erp"), "differences")
    by_kind = {d["kind"]: d for d in differences}
    assert len(differences) == 3, differences
    changed = by_kind["amount differs"]
    assert (changed["erp_key"], changed["hub_amount"], changed["erp_amount"]) == (summit_order["order_id"], Decimal("1830.00"), Decimal("1831.00"))
    missing = by_kind["missing in the ERP"]
    assert (missing["reference"], missing["source_document"]) == ("CO-2026-000815", cascade_order["source_document"])
    stray = by_kind["no hub document"]
    assert (stray["erp_key"], stray["source_document"]) == (cascade_order["order_id"], "hub:999999:1")


# -- three-way match, order to cash, posting log, exceptions aging ----------------------------------------------


def test_three_way_match_shows_deltas_invoice_approved(scenario, settings):
    report = make(scenario, settings, "three-way-match", start="2026-11-01", end="2026-11-30")
    lines = table(report, "lines")
    assert [(l["invoice"], l["line"], l["ordered"], l["received"], l["invoiced"], l["po_price"], l["amount"], l["price_variance"],
             l["not_received"], l["status"]) for l in lines] == [
        ("DT-INV-88001", 1, 24, 24, 24, Decimal("78.00"), Decimal("1872.00"), Decimal("0.00"), Decimal("0.00"), "APPROVED"),
        ("DT-INV-88001", 2, 48, 40, 40, Decimal("44.25"), Decimal("1770.00"), Decimal("0.00"), Decimal("0.00"), "APPROVED"),
    ]
    [delta] = table(report, "suppliers")
    assert (delta["supplier"], delta["invoices"], delta["approved"], delta["held"], delta["invoiced_total"]) == ("V20", 1, 1, 0, Decimal("3642.00"))
    with pytest.raises(Exception, match="by supplier; P-SUMMIT is a customer"):
        make(scenario, settings, "three-way-match", partner="P-SUMMIT")


def test_order_to_cash_after_the_3pl_confirmation(scenario, settings, erp):
    report = make(scenario, settings, "order-to-cash", start="2026-11-01", end="2026-11-30")
    statuses = {r["status"]: r for r in table(report, "statuses")}
    assert (statuses["INVOICED"]["orders"], statuses["INVOICED"]["amount"]) == (1, Decimal("750.50"))
    assert statuses["HOLD"]["orders"] == 3
    shipped = only(table(report, "orders"), order="SO-900001")
    assert (shipped["status"], shipped["shipments"], shipped["invoiced"]) == ("INVOICED", "SH-000001", Decimal("750.50"))
    assert shipped["invoices"].startswith("INV-")
    assert table(report, "unbilled") == [] and table(report, "unshipped") == []
    held = table(report, "held")
    assert sorted((r["code"], r["customer_po"]) for r in held) == [("CREDIT_HOLD", "PB-7001"), ("CREDIT_LIMIT", "LR-55002"),
                                                                   ("PRICE_MISMATCH", "SUM-PO-1002")]
    assert all(r["held_since"] is not None and r["age_days"] >= 0 for r in held)
    figures = {f.label: f.value for f in report.summary}
    assert (figures["Orders on hold"], figures["Amount on hold"]) == (3, Decimal("2803.09"))
    # a shipment no invoice bills is listed (the list is not empty by construction)
    erp.execute(text("INSERT INTO shipments (shipment_id, order_id, warehouse, ship_date, partner_reference) "
                     "VALUES ('SH-TEST', 'SO-900001', 'ATL', '2026-11-20', 'X-1')"))
    erp.commit()
    [unbilled] = table(make(scenario, settings, "order-to-cash", start="2026-11-01", end="2026-11-30"), "unbilled")
    assert (unbilled["shipment"], unbilled["order"], unbilled["customer"]) == ("SH-TEST", "SO-900001", "C100")


def test_posting_log_and_exceptions_aging(scenario, settings):
    log = make(scenario, settings, "posting-log")
    attempts = table(log, "attempts")
    assert len(attempts) == 12 and {a["outcome"] for a in attempts} == {"posted"}
    delta = only(attempts, reference="DT-INV-88001")
    assert (delta["partner"], delta["erp_ref"], delta["amount"], delta["attempt"]) == ("P-DELTA", "DT-INV-88001", Decimal("3642.00"), 1)
    [posted] = table(log, "outcomes")
    assert (posted["attempts"], posted["documents"], posted["retries"]) == (12, 12, 0)

    aging = make(scenario, settings, "exceptions-aging")
    queues = {r["queue"]: r for r in table(aging, "queues")}
    assert {q: (r["open"], r["within_sla"], r["under_4h"]) for q, r in queues.items()} == {
        "credit": (2, 2, 2), "pricing": (1, 1, 1), "purchasing": (1, 1, 1)}
    assert queues["purchasing"]["sla_hours"] == settings.queue_policy("purchasing")[0]
    later = make(scenario, settings, "exceptions-aging", now=datetime.now(UTC) + timedelta(days=8))
    assert {r["queue"]: (r["overdue"], r["older"]) for r in table(later, "queues")} == {"credit": (2, 2), "pricing": (1, 1), "purchasing": (1, 1)}


# -- formats, HTTP, CLI ------------------------------------------------------------------------------------------


def test_xlsx_cells_are_real_numbers_dates_and_neutralised_text(scenario, settings, tmp_path):
    path = tmp_path / "log.xlsx"
    path.write_bytes(b"".join(chunks(make(scenario, settings, "posting-log"), "xlsx")))
    book = load_workbook(path)
    assert book.sheetnames == ["Summary", "outcomes", "attempts"]
    sheet = book["attempts"]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["At", "Document", "Partner"] and sheet.freeze_panes == "A2"
    by_reference = {row[header.index("Reference")].value: row for row in sheet.iter_rows(min_row=2)}
    delta = by_reference["DT-INV-88001"]
    amount = delta[header.index("Amount")]
    assert (amount.data_type, amount.value) == ("n", 3642.0) and "0.00" in amount.number_format
    assert delta[header.index("At")].is_date
    assert delta[header.index("Document")].data_type == "n"
    formula = by_reference["'" + FORMULA_PO]  # partner text that looks like a formula stays text
    assert formula[header.index("Reference")].data_type == "s"


def test_api_streams_reports_for_finance_and_refuses_bad_requests(scenario, settings):
    app = create_app(settings)
    finance = TestClient(app, headers=token_for(settings, "finance"))
    operations = TestClient(app, headers=token_for(settings, "operations"))
    try:
        listed = finance.get("/v1/reports")
        assert listed.status_code == 200 and {k["name"] for k in listed.json()} >= {"intake", "ledger-vs-erp", "three-way-match"}
        answer = finance.get("/v1/reports/intake")
        assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
        body = answer.json()
        assert body["report"] == "intake" and {s["name"] for s in body["sections"]} == {"received", "breaks", "sent", "overdue"}
        summit = next(r for r in body["sections"][0]["rows"] if r["partner"] == "P-SUMMIT" and r["type"] == "850")
        assert summit["posted_amount"] == "1830.00"  # exact decimal text
        log = finance.get("/v1/reports/posting-log", params={"format": "csv", "section": "attempts"})
        assert log.status_code == 200 and log.headers["content-disposition"].startswith("attachment;")
        cells = list(csv.reader(io.StringIO(log.content.decode("utf-8-sig"))))
        assert "'" + FORMULA_PO in [c for row in cells for c in row]  # neutralised
        assert operations.get("/v1/reports/intake").status_code == 403
        for params, status, words in (
            ({"from": "2026-11-30", "to": "2026-11-01"}, 422, "reversed"),
            ({"from": "1900-01-01"}, 422, "outside"),
            ({"partner": "P-NOBODY"}, 422, "no partner"),
            ({"format": "pdf"}, 422, ""),
            ({"format": "csv", "section": "nope"}, 422, "received"),
        ):
            refused = finance.get("/v1/reports/intake", params=params)
            assert refused.status_code == status and words in refused.text, (params, refused.text)
        unknown = finance.get("/v1/reports/balance-sheet")
        assert unknown.status_code == 404 and "intake" in unknown.json()["detail"]
    finally:
        app.state.engine.dispose()


def test_html_escapes_partner_text_and_chromium_shows_the_summary(scenario, settings, tmp_path):
    page = b"".join(chunks(make(scenario, settings, "posting-log"), "html"))
    assert b"<b>pay</b>" not in page and b"&lt;b&gt;pay&lt;/b&gt;" in page
    shown = rendered_text(page, tmp_path)
    assert shown.index("Summary") < shown.index("Posting attempts") < shown.index("Every attempt")


def test_cli_writes_each_format_and_says_what_is_wrong(scenario, settings, tmp_path):
    for fmt in ("xlsx", "csv", "html", "json"):
        out = tmp_path / f"intake.{fmt}"
        done = hub_command(settings, "report", "intake", "-o", str(out))
        assert done.returncode == 0, done.stderr
        assert "written to" in done.stderr and out.stat().st_size > 0
    assert json.loads((tmp_path / "intake.json").read_text())["report"] == "intake"
    assert load_workbook(tmp_path / "intake.xlsx").sheetnames[0] == "Summary"
    reversed_range = hub_command(settings, "report", "intake", "--from", "2026-12-01", "--to", "2026-11-01")
    assert reversed_range.returncode == 2 and "reversed" in reversed_range.stderr and "Traceback" not in reversed_range.stderr
    unknown = hub_command(settings, "report", "balance-sheet")
    assert unknown.returncode == 2 and "the reports are: intake" in unknown.stderr
    stdout = hub_command(settings, "report", "exceptions-aging", "--format", "csv", "--section", "queues")
    assert stdout.returncode == 0 and stdout.stdout.lstrip("\ufeff").startswith("Queue,SLA (hours),Open")
