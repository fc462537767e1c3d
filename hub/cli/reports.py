"""`hub report NAME`: finance's reconciliation reports as XLSX, CSV, HTML or JSON."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from hub.config import Settings
from hub.errors import InputError


def add_commands(sub) -> None:
    from hub.reports.catalog import REPORTS
    from hub.reports.render import FORMATS

    names = "\n".join(f"  {k.name:<17} {k.about}" for k in REPORTS.values())
    report = sub.add_parser("report", help="a reconciliation report for finance (intake, ledger-vs-erp, ...)",
                            description="Write a reconciliation report. Days are UTC; both ends are included.",
                            epilog=f"reports:\n{names}", formatter_class=_Verbatim)
    report.add_argument("name", metavar="NAME", help="which report (listed below)")
    report.add_argument("--from", dest="start", metavar="DATE", help="first day, YYYY-MM-DD (default: 29 days before --to)")
    report.add_argument("--to", dest="end", metavar="DATE", help="last day, YYYY-MM-DD (default: today)")
    report.add_argument("--partner", help="only this partner's documents")
    report.add_argument("--format", choices=FORMATS, help="default: from the -o file's suffix, else csv")
    report.add_argument("--section", help="csv and json: only this table of the report, as a plain table")
    report.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE (default: standard output)")
    report.set_defaults(run=cmd_report)


class _Verbatim(argparse.RawDescriptionHelpFormatter):
    """Keeps the list of reports in the epilog as it is written."""


def cmd_report(args) -> int:
    from hub.db import make_engine
    from hub.registry import load_registry
    from hub.reports.catalog import Reports
    from hub.reports.render import SUFFIXES, write

    fmt = args.format or _format_of(args.output, SUFFIXES)
    if fmt == "xlsx" and args.output is None and sys.stdout.isatty():
        raise InputError("an XLSX report is a binary file: give -o FILE (e.g. -o report.xlsx), or pipe it")
    settings = Settings()
    ledger, erp_engine = make_engine(settings.ledger_url), make_engine(settings.erp_url)
    try:
        erp = load_registry().erp("reference", erp_engine)
        report = Reports(settings, ledger, erp).make(args.name, args.start, args.end, args.partner)
        if args.output is None:
            write(report, fmt, sys.stdout.buffer, args.section)
            sys.stdout.buffer.flush()
            return 0
        _write_file(args.output, lambda out: write(report, fmt, out, args.section))
    finally:
        ledger.dispose()
        erp_engine.dispose()
    print(f"{report.title}, {report.period.describe()}: written to {args.output} ({_size(args.output)})", file=sys.stderr)
    return 0


def _format_of(output: Path | None, suffixes: dict[str, str]) -> str:
    if output is None:
        return "csv"
    by_suffix = {suffix: fmt for fmt, suffix in suffixes.items()}
    fmt = by_suffix.get(output.suffix.lower())
    if fmt is None:
        raise InputError(f"cannot tell the format from {output.name!r}: give --format ({', '.join(suffixes)})")
    return fmt


def _write_file(path: Path, write) -> None:
    """Write through a temporary file beside `path`, renamed into place at the end: a report that
    fails half-way leaves no half-written file (and an earlier one is kept)."""
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise InputError(f"cannot write {path}: the folder {directory} does not exist")
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            write(out)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size} bytes" if size < 10_000 else f"{size // 1024} KB"
