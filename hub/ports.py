"""The small contracts between the core and its adapters.

A format reader turns raw bytes into generic trees (one per business document) plus what the
format needs to answer the sender. The mapping engine (hub.mapping) turns a generic tree into a
canonical document; the core never looks inside a format. An acknowledger writes the format's
acknowledgment for what was read; a document writer writes what we send (855, 856, 810); an ERP
gateway reads reference data and posts documents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from hub.errors import Problem


@dataclass(slots=True)
class ParsedDocument:
    """One business document found in a file, before mapping.

    `tree` is the generic tree the partner's mapping reads: for X12, segments and loops keyed by
    segment id / loop id (see adapters/x12/README in the module docstring); for CSV, JSON and XML,
    the reader's natural tree. `problems` non-empty means the document is rejected as sent.
    """

    index: int  # 1-based position in the file
    doc_type: str  # "850", "856", "810", or "order" for non-X12 orders
    tree: dict[str, Any]
    control: dict[str, str] = field(default_factory=dict)  # group_control, set_control, version
    problems: list[Problem] = field(default_factory=list)
    partner_id: str | None = None  # when the document itself names its sender (cXML)


@dataclass(slots=True)
class ReadResult:
    """What a reader found in one file."""

    format: str  # "x12", "csv", "json", "xml"
    documents: list[ParsedDocument] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # file-level: nothing inside is usable
    sender: tuple[str, str] | None = None  # (qualifier, id) when the envelope names the sender
    interchange_control: str | None = None  # ISA13
    envelope: Any = None  # the format's own envelope objects (X12: every interchange in the file), for its acknowledger
    # what the file says it holds, from its own control counts (X12: {"groups": IEA01, "documents":
    # {"850": GE01, ...}, "segments": SE01}, summed); None from a format without control counts, or
    # when not even the envelope could be read
    contents: dict[str, Any] | None = None


@runtime_checkable
class FormatReader(Protocol):
    name: str

    def sniff(self, raw: bytes) -> bool:
        """True when `raw` looks like this format (cheap: the first bytes)."""

    def read(self, raw: bytes, options: dict[str, Any] | None = None) -> ReadResult:
        """Split and validate `raw`. Never raises for bad input: problems go into the result.

        `options` is the `source:` block of the partner's mapping (e.g. a CSV's `group_by`
        column); formats that carry their own structure (X12) ignore it."""


@dataclass(slots=True)
class OutboundMessage:
    """A file we send: one interchange (X12) or one document."""

    partner_id: str
    kind: str  # "997", "999", "855", ...
    filename: str
    content: bytes
    interchange_control: str | None = None
    document_id: int | None = None
    group_control: str | None = None  # our GS06: what the partner's 997/999 names (AK102)
    expects_acknowledgment: bool = False  # a business document the partner acknowledges; not an acknowledgment itself


class ControlNumbers(Protocol):
    """Per-partner counters for what we send; a value is never handed out twice."""

    def next(self, partner_id: str, kind: str) -> int: ...


class Acknowledger(Protocol):
    def acknowledge(
        self, result: ReadResult, partner: Any, our_identity: Any, numbers: ControlNumbers
    ) -> list[OutboundMessage]:
        """Acknowledgments owed for what was read (997/999 per functional group)."""


class DocumentWriter(Protocol):
    """Writes one kind of document we send, named like a partner's `outbound` list (x12-855)."""

    def write(self, document: Any, partner: Any, our_identity: Any, numbers: ControlNumbers) -> OutboundMessage:
        """The file for `document`: an OrderBooking (855), CustomerShipNotice (856), CustomerInvoice (810)."""
