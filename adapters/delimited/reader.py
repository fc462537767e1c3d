"""CSV orders: a header line of column names, then one row per order line.

Options (the `source:` block of the partner's mapping):

    delimiter         one character, "," by default
    group_by          the column that names the order: rows with the same value are one document,
                      in order of first appearance; without it the whole file is one document
    required_columns  columns the header must have (group_by is always required)

Each document's tree is {"rows": [{column: value, ..., "_line": n}], "header": <its first row>,
"_line": <line of its first row>}; values are the cells as written (the mapping converts them).
A file that is not UTF-8, has no header, lacks a required column, or has a row whose field count
differs from the header's is rejected whole: in a misaligned row no column can be trusted.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from hub.errors import Location, Problem
from hub.ports import ParsedDocument, ReadResult

_BOM = b"\xef\xbb\xbf"
_SNIFF_BYTES = 4096


class DelimitedReader:
    name = "csv"

    def sniff(self, raw: bytes) -> bool:
        head = raw[:_SNIFF_BYTES].removeprefix(_BOM)
        if head.lstrip()[:1] in (b"<", b"{", b"[") or head.lstrip().startswith(b"ISA"):
            return False
        try:
            first = head.split(b"\n", 1)[0].decode("utf-8")
        except UnicodeDecodeError:
            return False
        names = [name.strip() for name in first.rstrip("\r").split(",")]
        return len(names) >= 3 and all(names)

    def read(self, raw: bytes, options: dict[str, Any] | None = None) -> ReadResult:
        options = options or {}
        result = ReadResult(format=self.name)
        text = _decode(raw, result.problems)
        if text is None:
            return result
        records = _records(text, options.get("delimiter", ","), result.problems)
        if records is None:
            return result
        if not records:
            result.problems.append(Problem("csv:empty", "the file is empty: expected a header line and order rows"))
            return result
        group_by = options.get("group_by")
        required = list(options.get("required_columns") or [])
        if group_by and group_by not in required:
            required.append(group_by)
        header = _header(records[0], required, result.problems)
        rows = _rows(header, records[1:], result.problems)
        if result.problems:
            return result
        if not rows:
            message = "the file has a header but no order rows"
            result.problems.append(Problem("csv:empty", message, Location(line=records[0][0])))
            return result
        groups = _group(rows, group_by, result.problems)
        if result.problems:
            return result
        for index, group in enumerate(groups, 1):
            tree = {"rows": group, "header": group[0], "_line": group[0]["_line"]}
            result.documents.append(ParsedDocument(index=index, doc_type="order", tree=tree))
        return result


def _decode(raw: bytes, problems: list[Problem]) -> str | None:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - raw.rfind(b"\n", 0, exc.start)
        message = (
            f"the file is not UTF-8 text: byte 0x{raw[exc.start]:02X} at byte offset {exc.start}"
            f" (line {line}, byte {column} of the line) is not valid UTF-8; send the file as UTF-8"
        )
        problems.append(Problem("csv:encoding", message, Location(line=line, column=column)))
        return None


def _records(text: str, delimiter: str, problems: list[Problem]) -> list[tuple[int, list[str]]] | None:
    """(first line, fields) of every non-blank record; None when the text is not valid CSV."""
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    except TypeError as exc:  # a delimiter that is not one character
        problems.append(Problem("csv:options", f"the mapping's CSV delimiter {delimiter!r} is not usable: {exc}"))
        return None
    records, start = [], 1
    try:
        for fields in reader:
            if any(field.strip() for field in fields):
                records.append((start, fields))
            start = reader.line_num + 1
    except csv.Error as exc:
        message = f"line {reader.line_num} is not valid CSV: {exc}"
        problems.append(Problem("csv:syntax", message, Location(line=reader.line_num)))
        return None
    return records


def _header(record: tuple[int, list[str]], required: list[str], problems: list[Problem]) -> list[str]:
    line, fields = record
    names = [name.strip() for name in fields]
    found = ", ".join(names)
    for name in sorted({n for n in names if names.count(n) > 1}):
        message = f"column {name!r} appears more than once in the header (line {line})"
        problems.append(Problem("csv:column", message, Location(line=line, element=name)))
    for name in required:
        if name not in names:
            message = f"column {name!r} is missing from the header (line {line}); found: {found}"
            problems.append(Problem("csv:column", message, Location(line=line, element=name)))
    return names


def _rows(header: list[str], records: list[tuple[int, list[str]]], problems: list[Problem]) -> list[dict[str, Any]]:
    rows = []
    for line, fields in records:
        if len(fields) != len(header):
            message = f"line {line} has {len(fields)} fields, the header has {len(header)}"
            problems.append(Problem("csv:ragged", message, Location(line=line)))
            continue
        row: dict[str, Any] = dict(zip(header, fields))
        row["_line"] = line
        rows.append(row)
    return rows


def _group(rows: list[dict[str, Any]], group_by: str | None, problems: list[Problem]) -> list[list[dict[str, Any]]]:
    if not group_by:
        return [rows]
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        key = row.get(group_by, "").strip()
        if not key:
            message = f"line {row['_line']} has no {group_by}, so it belongs to no order"
            problems.append(Problem("csv:group", message, Location(line=row["_line"], element=group_by)))
            continue
        groups.setdefault(key, []).append(row)
    return list(groups.values())
