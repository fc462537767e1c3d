"""What a person sees of an HTML page: Debian's Chromium prints it to PDF (headless, in a throwaway
profile) and pypdf reads the text back. Tests that need it skip when Chromium is not installed
(tests/run.sh installs it as root)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

TIMEOUT = 120  # seconds; a first start of Chromium on a cold disk is slow


def rendered_text(html: bytes, tmp_path: Path) -> str:
    """The text of `html` as Chromium prints it, page after page."""
    browser = shutil.which("chromium")
    if browser is None:
        pytest.skip("chromium is not on PATH (tests/run.sh installs Debian's package when run as root)")
    page, pdf = tmp_path / "page.html", tmp_path / "page.pdf"
    page.write_bytes(html)
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--no-pdf-header-footer",
        f"--print-to-pdf={pdf}",
        page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    if not pdf.exists():
        raise AssertionError(f"chromium printed no PDF (exit {done.returncode}): {done.stderr[-2000:]}")
    return "\n".join(printed.extract_text() for printed in PdfReader(pdf).pages)
