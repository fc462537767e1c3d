"""The report writers (hub.reports.render) on small reports built here, no database: what a
spreadsheet, a program, a browser and Excel get, and that long reports stream."""

from __future__ import annotations

import csv
import io
import json
import re
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from hub.errors import InputError
from hub.reports import render
from hub.reports.model import Column, DayVolume, Figure, Period, Report, Section
from hub.reports.render import chart
from hub.reports.render.cells import display
from tests.chromium import rendered_text

DOCUMENT_COLUMNS = (
    Column("partner", "Partner"),
    Column("reference", "Reference"),
    Column("day", "Day", "date"),
    Column("received_at", "Received at", "datetime"),
    Column("lines", "Lines", "int", total=True),
    Column("amount", "Amount", "money", total=True),
)
DOCUMENT_ROWS = [
    ("ACME", "PO-1", date(2026, 11, 19), datetime(2026, 11, 19, 8, 30, tzinfo=UTC), 3, Decimal("1830.00")),
    ('=HYPERLINK("http://x")', "+1", date(2026, 11, 19), datetime(2026, 11, 19, 9, tzinfo=UTC), 1, Decimal("1812.00")),
    ("<script>alert(1)</script>", "-2", None, None, None, Decimal("-5.00")),
    ("Émile & Fils", "@SUM(A1)", date(2026, 11, 20), datetime(2026, 11, 20, 10, 15), 2, Decimal("5.00")),
]
CENT_COLUMNS = (Column("amount", "Amount", "money", total=True), Column("note", "Note"))
CENTS_JSON = {  # the cents section in JSON: 0.10 + 0.20 is exactly 0.30
    "title": "Cents",
    "description": "",
    "columns": [{"key": "amount", "title": "Amount", "kind": "money"}, {"key": "note", "title": "Note", "kind": "text"}],
    "rows": [{"amount": "0.10", "note": "a"}, {"amount": "0.20", "note": "b"}],
    "totals": {"amount": "0.30"},
}


def sample_report(by_day: bool = True) -> Report:
    return Report(
        name="intake",
        title="Intake reconciliation",
        period=Period(date(2026, 11, 1), date(2026, 11, 30)),
        generated_at=datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
        summary=[
            Figure("Documents received", 4),
            Figure("Amount posted", Decimal("3642.00"), "money"),
            Figure("Breaks", 1, alarm=True),
            Figure("First day", date(2026, 11, 19), "date"),
        ],
        sections=[
            Section("documents", "Posted documents", DOCUMENT_COLUMNS, lambda: iter(DOCUMENT_ROWS), "Each document."),
            Section("cents", "Cents", CENT_COLUMNS, lambda: [(Decimal("0.10"), "a"), (Decimal("0.20"), "b")]),
            Section("late", "Late acknowledgments", CENT_COLUMNS, list, empty="No late acknowledgments."),
        ],
        by_day=(lambda: [DayVolume(date(2026, 11, d), 10 * d, d % 3) for d in (19, 20, 22)]) if by_day else None,
    )


def rendered(report: Report, fmt: str, section: str | None = None) -> bytes:
    return b"".join(render.chunks(report, fmt, section))


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data[3:].decode(), newline="")))


def test_csv_has_the_summary_then_each_section_with_exact_money_and_neutralised_text():
    data = rendered(sample_report(), "csv")
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    rows = csv_rows(data)
    assert rows[:9] == [
        ["Summary"],
        ["Report", "Intake reconciliation"],
        ["Period", "2026-11-01 to 2026-11-30, all partners"],
        ["Generated at", "2026-12-01T08:00:00Z"],
        ["Documents received", "4"],
        ["Amount posted", "3642.00"],
        ["Breaks", "1"],
        ["First day", "2026-11-19"],
        [],
    ]
    assert rows[9:17] == [
        ["Posted documents"],
        ["Partner", "Reference", "Day", "Received at", "Lines", "Amount"],
        ["ACME", "PO-1", "2026-11-19", "2026-11-19T08:30:00Z", "3", "1830.00"],
        ["'=HYPERLINK(\"http://x\")", "'+1", "2026-11-19", "2026-11-19T09:00:00Z", "1", "1812.00"],
        ["<script>alert(1)</script>", "'-2", "", "", "", "-5.00"],
        ["Émile & Fils", "'@SUM(A1)", "2026-11-20", "2026-11-20T10:15:00Z", "2", "5.00"],
        ["Total", "", "", "", "6", "3642.00"],
        [],
    ]
    # the first column is summed: the label goes to the first column that is not
    assert rows[17:22] == [["Cents"], ["Amount", "Note"], ["0.10", "a"], ["0.20", "b"], ["0.30", "Total"]]
    assert rows[22:] == [[], ["Late acknowledgments"], ["No late acknowledgments."], []]


def test_csv_of_one_section_is_its_header_and_rows_alone():
    rows = csv_rows(rendered(sample_report(), "csv", section="documents"))
    assert rows[0] == ["Partner", "Reference", "Day", "Received at", "Lines", "Amount"]
    assert [r[1] for r in rows[1:]] == ["PO-1", "'+1", "'-2", "'@SUM(A1)"]
    assert csv_rows(rendered(sample_report(), "csv", section="late")) == [["Amount", "Note"]]


def test_unknown_formats_and_sections_are_refused_before_any_byte_with_the_choices():
    report = sample_report()
    with pytest.raises(InputError, match="xlsx, csv, html, json"):
        render.chunks(report, "pdf")
    with pytest.raises(InputError, match="documents, cents, late"):
        render.chunks(report, "csv", section="nope")
    for fmt in ("html", "xlsx"):
        with pytest.raises(InputError, match="--section applies to csv and json"):
            render.write(report, fmt, io.BytesIO(), section="documents")


def test_json_is_the_whole_report_with_exact_money():
    keys = [c.key for c in DOCUMENT_COLUMNS]
    document_rows = [
        dict(zip(keys, values, strict=True))
        for values in (
            ("ACME", "PO-1", "2026-11-19", "2026-11-19T08:30:00Z", 3, "1830.00"),
            ('=HYPERLINK("http://x")', "+1", "2026-11-19", "2026-11-19T09:00:00Z", 1, "1812.00"),
            ("<script>alert(1)</script>", "-2", None, None, None, "-5.00"),
            ("Émile & Fils", "@SUM(A1)", "2026-11-20", "2026-11-20T10:15:00Z", 2, "5.00"),
        )
    ]
    assert json.loads(rendered(sample_report(), "json")) == {
        "report": "intake",
        "title": "Intake reconciliation",
        "period": {"from": "2026-11-01", "to": "2026-11-30", "partner": None},
        "generated_at": "2026-12-01T08:00:00Z",
        "summary": [
            {"label": "Documents received", "value": 4, "kind": "int", "alarm": False},
            {"label": "Amount posted", "value": "3642.00", "kind": "money", "alarm": False},
            {"label": "Breaks", "value": 1, "kind": "int", "alarm": True},
            {"label": "First day", "value": "2026-11-19", "kind": "date", "alarm": False},
        ],
        "sections": [
            {
                "name": "documents",
                "title": "Posted documents",
                "description": "Each document.",
                "columns": [{"key": c.key, "title": c.title, "kind": c.kind} for c in DOCUMENT_COLUMNS],
                "rows": document_rows,
                "totals": {"lines": 6, "amount": "3642.00"},
            },
            {"name": "cents", **CENTS_JSON},
            {
                "name": "late",
                "title": "Late acknowledgments",
                "description": "",
                "columns": CENTS_JSON["columns"],
                "rows": [],
                "totals": None,
                "empty": "No late acknowledgments.",
            },
        ],
    }


def test_json_of_one_section_is_that_section_with_the_report_and_period_it_belongs_to():
    assert json.loads(rendered(sample_report(), "json", section="cents")) == {
        "report": "intake",
        "period": {"from": "2026-11-01", "to": "2026-11-30", "partner": None},
        "generated_at": "2026-12-01T08:00:00Z",
        "section": "cents",
        **CENTS_JSON,
    }


def test_html_page_shows_the_summary_first_escapes_partner_text_and_totals_in_the_footer():
    page = rendered(sample_report(), "html").decode()
    assert page.startswith("<!doctype html>") and '<meta charset="utf-8">' in page
    assert "Content-Security-Policy" in page and "<script" not in page
    assert not re.search(r"\b(src|href)=", page)  # nothing fetched
    assert page.index('<section id="summary">') < page.index("<svg") < page.index("<table")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "Émile &amp; Fils" in page
    assert '<dt class="alarm">Breaks</dt>' in page
    assert "<dd>3,642.00</dd>" in page and "2026-11-19 08:30 UTC" in page
    documents = page[page.index('<section id="documents">') : page.index('<section id="cents">')]
    footer = documents[documents.index("<tfoot>") : documents.index("</tfoot>")]
    assert "Total" in footer and ">6<" in footer and ">3,642.00<" in footer
    late = page[page.index('<section id="late">') :]
    assert "No late acknowledgments." in late and "<table" not in late


def test_html_page_has_no_chart_without_days():
    assert "<svg" not in rendered(sample_report(by_day=False), "html").decode()
    report = sample_report()
    report.by_day = list  # a chart asked for, but no traffic at all
    assert "<svg" not in rendered(report, "html").decode()


def test_chart_of_a_year_keeps_its_width_and_labels_only_some_days():
    days = [DayVolume(date(2026, 1, 1) + timedelta(days=n), 100 + n, n % 5) for n in range(365)]
    drawing = chart.svg(days)
    assert 'viewBox="0 0 760 260"' in drawing and "<title" in drawing and "<desc" in drawing
    assert len(re.findall(r'text-anchor="middle">\d{4}-\d\d-\d\d<', drawing)) <= chart.DAY_LABELS
    bar = re.compile(r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="[\d.]+" fill="#[0-9a-f]+"><title>')
    bars = [(float(x), float(w)) for x, w in bar.findall(drawing)]
    assert len(bars) == 365 + sum(1 for d in days if d.exceptions)
    assert all(chart.LEFT <= x and x + w <= chart.WIDTH - chart.RIGHT for x, w in bars)


@pytest.mark.parametrize(
    ("value", "kind", "shown"),
    [
        (Decimal("3642.00"), "money", "3,642.00"),
        (Decimal("1234567.5"), "money", "1,234,567.50"),
        (Decimal("0.125"), "money", "0.125"),
        (Decimal(-5), "money", "-5.00"),
        (12345, "int", "12,345"),
        (datetime(2026, 11, 19, 9, 30, tzinfo=UTC).astimezone(), "datetime", "2026-11-19 09:30 UTC"),
        (None, "money", ""),
    ],
)
def test_values_as_people_read_them(value, kind, shown):
    assert display(value, kind) == shown


def test_html_page_as_chromium_prints_it(tmp_path):
    text = rendered_text(rendered(sample_report(), "html"), tmp_path)
    summary = text.index("Summary")
    label = text.index("Amount posted", summary)
    assert summary < label < text.index("3,642.00", label) < text.index("Posted documents")
    assert "<script>alert(1)</script>" in text  # shown as text, not run


def test_xlsx_has_a_sheet_per_section_with_real_cells_totals_and_fitted_widths(tmp_path):
    path = tmp_path / "intake.xlsx"
    with path.open("wb") as out:
        render.write(sample_report(), "xlsx", out)
    book = load_workbook(path)
    assert book.sheetnames == ["Summary", "documents", "cents", "late"]
    summary = book["Summary"]
    assert summary["A1"].value == "Intake reconciliation"
    assert summary["B3"].value == datetime(2026, 12, 1, 8, 0)
    assert [(summary.cell(r, 1).value, summary.cell(r, 2).value) for r in range(6, 10)] == [
        ("Documents received", 4),
        ("Amount posted", 3642),
        ("Breaks", 1),
        ("First day", datetime(2026, 11, 19)),
    ]

    sheet = book["documents"]
    assert [c.value for c in sheet[1]] == ["Partner", "Reference", "Day", "Received at", "Lines", "Amount"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:F5"
    assert sheet["F2"].data_type == "n" and sheet["F2"].value == 1830 and "0.00" in sheet["F2"].number_format
    assert sheet["F4"].value == -5
    assert sheet["C2"].is_date and sheet["C2"].value == datetime(2026, 11, 19)
    assert sheet["D2"].is_date and sheet["D2"].value == datetime(2026, 11, 19, 8, 30)
    assert sheet["D5"].value == datetime(2026, 11, 20, 10, 15)
    assert sheet["E2"].data_type == "n" and sheet["E2"].number_format == "#,##0"
    assert (sheet["A3"].data_type, sheet["A3"].value) == ("s", "'=HYPERLINK(\"http://x\")")
    assert [sheet[c].value for c in ("B3", "B4", "B5")] == ["'+1", "'-2", "'@SUM(A1)"]
    assert sheet["A6"].value == "Total" and sheet["A6"].font.b
    assert (sheet["E6"].value, sheet["F6"].value) == ("=SUM(E2:E5)", "=SUM(F2:F5)")
    assert sheet.column_dimensions["A"].width > sheet.column_dimensions["B"].width > len("Reference")

    cached = load_workbook(path, data_only=True)
    assert (cached["documents"]["E6"].value, cached["documents"]["F6"].value) == (6, 3642)
    assert cached["cents"]["A4"].value == pytest.approx(0.3) and cached["cents"]["B4"].value == "Total"
    late = book["late"]
    assert [c.value for c in late[1]] == ["Amount", "Note"] and late["A2"].value == "No late acknowledgments."


def test_xlsx_goes_to_a_stream_that_cannot_seek_and_sheet_names_stay_legal(tmp_path):
    class Pipe(io.RawIOBase):
        def __init__(self):
            self.received = bytearray()

        def writable(self):
            return True

        def write(self, data):
            self.received += data
            return len(data)

    report = sample_report()
    report.sections = [
        Section("summary", "Named like the first sheet", CENT_COLUMNS, list),
        Section("a/b:c*d?[e]\\f", "Odd name", CENT_COLUMNS, list),
    ]
    pipe = Pipe()
    render.write(report, "xlsx", pipe)
    path = tmp_path / "piped.xlsx"
    path.write_bytes(pipe.received)
    assert load_workbook(path).sheetnames == ["Summary", "summary (2)", "a_b_c_d__e__f"]


def long_report(rows: int, progress: dict[str, int]) -> Report:
    """A report whose one section has `rows` rows made on demand, counting how many were made."""

    def made():
        start = datetime(2026, 1, 1, tzinfo=UTC)
        for n in range(rows):
            progress["rows"] = n + 1
            yield ("ACME Wholesale", f"PO-{n:08d}", start.date(), start + timedelta(seconds=n), n % 7, Decimal(n) / 100)

    return Report(
        "intake", "Intake", Period(date(2026, 1, 1), date(2026, 12, 31)), datetime(2027, 1, 1, tzinfo=UTC),
        sections=[Section("documents", "Documents", DOCUMENT_COLUMNS, made)],
    )  # fmt: skip


@pytest.mark.parametrize(
    ("fmt", "section"), [("csv", None), ("csv", "documents"), ("json", None), ("json", "documents"), ("html", None)]
)
def test_text_formats_send_their_first_chunk_long_before_the_last_row(fmt, section):
    progress = {"rows": 0}
    stream = render.chunks(long_report(200_000, progress), fmt, section)
    first = next(stream)
    assert len(first) >= render.CHUNK and 0 < progress["rows"] < 5_000
    stream.close()


def test_xlsx_of_many_rows_stays_small_in_memory(tmp_path):
    # constant_memory keeps this near 5 MB whatever the row count (4 MB of it the spooled file);
    # without it 30,000 rows already take 32 MB, so the bound catches a workbook held in memory
    rows, progress = 40_000, {"rows": 0}
    path = tmp_path / "long.xlsx"
    tracemalloc.start()
    try:
        with path.open("wb") as out:
            render.write(long_report(rows, progress), "xlsx", out)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    sheet = load_workbook(path, read_only=True)["documents"]
    assert sheet.max_row == rows + 2  # header, rows, totals
