"""Limits shared by the readers of partner files, checked before anything is parsed."""

from __future__ import annotations

from hub.errors import Problem


def size_problem(raw: bytes, max_bytes: int, format_name: str) -> Problem | None:
    """A problem when `raw` is larger than a reader of `format_name` accepts, else None."""
    if len(raw) <= max_bytes:
        return None
    article = "an" if format_name[0] in "AEIOUX" else "a"
    return Problem(f"{format_name.lower()}:size", f"the file is {len(raw):,} bytes, more than the {max_bytes:,} bytes accepted for {article} {format_name} order")
