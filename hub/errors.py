"""The hub's errors, grouped by what the caller should do about them.

    HubError
    ├── InputError          the partner's file or document is wrong: reject it, answer negatively
    │   ├── EnvelopeError   the envelope itself cannot be read (X12 ISA/GS/IEA ...)
    │   └── TooLarge        more bytes than are taken (HTTP 413)
    ├── ConfigurationError  a mapping, ruleset or partner setting is wrong: fix the configuration
    ├── TransientError      try again later (database locked, connection lost)
    ├── PermanentError      an ERP posting that will never succeed as it is
    ├── ErpUnavailable      a batch of ERP postings was lost as a whole: its documents wait and run again
    ├── NotFound            a record someone asked for does not exist
    └── Conflict            a request that clashes with the state of things (HTTP 409)

Each error carries a message written for an integration analyst and, where it has one, a
`Location` saying where in the input the problem is.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Location:
    """Where a problem is. Positions are 1-based, as an analyst counts them."""

    line: int | None = None
    column: int | None = None
    segment_id: str | None = None
    segment_position: int | None = None  # position in the transaction set (ST is 1)
    element: str | None = None  # e.g. BEG03, or a CSV column / JSON path / XML path
    transaction_set: str | None = None  # ST02

    def describe(self) -> str:
        parts = []
        if self.transaction_set:
            parts.append(f"transaction set {self.transaction_set}")
        if self.segment_id:
            seg = f"segment {self.segment_id}"
            if self.segment_position:
                seg += f" #{self.segment_position}"
            parts.append(seg)
        if self.element:
            parts.append(f"element {self.element}" if self.segment_id else f"at {self.element}")
        if self.line:
            parts.append(f"line {self.line}" + (f" column {self.column}" if self.column else ""))
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Problem:
    """One located problem in partner input (collected, not raised)."""

    code: str
    message: str
    location: Location = field(default_factory=Location)

    def describe(self) -> str:
        where = self.location.describe()
        return f"{self.message} ({where})" if where else self.message

    def to_dict(self) -> dict:
        loc = {k: getattr(self.location, k) for k in Location.__slots__ if getattr(self.location, k) is not None}
        return {"code": self.code, "message": self.message, "where": self.location.describe(), **loc}


class HubError(Exception):
    """Base of every error the hub raises on purpose."""

    def __init__(self, message: str, location: Location | None = None):
        super().__init__(message)
        self.message = message
        self.location = location or Location()

    def __str__(self) -> str:
        where = self.location.describe()
        return f"{self.message} ({where})" if where else self.message


class InputError(HubError):
    """The input cannot be processed as sent; the partner has to fix and resend it."""


class EnvelopeError(InputError):
    """The envelope cannot be read, so no document in it can be trusted."""


class TooLarge(InputError):
    """A body or file over the size that is taken."""


class ConfigurationError(HubError):
    """A mapping, ruleset or partner setting is wrong; integration staff must fix it."""


class TransientError(HubError):
    """A passing failure (a locked database, a lost connection): try again."""


class PermanentError(HubError):
    """A failure that retrying will not fix (a constraint the data violates)."""


class ErpUnavailable(HubError):
    """The ERP failed in the middle of a batch of postings that share one transaction (connection
    lost, a deadlock, a locked database): the transaction is gone with everything the batch
    posted. None of the batch may be recorded as done; its documents go back to the queue."""


class BatchRefused(ErpUnavailable):
    """The ERP refused for good the rows a batch held to write together (ErpGateway.batch): the
    batch is undone as a whole. Run it again one posting at a time (batch(one_by_one=True)), so
    the document the ERP refuses fails alone."""


class NotFound(HubError):
    """A partner, document, version or exception that was asked for does not exist."""


class Conflict(HubError):
    """The request clashes with the record as it stands (a name taken, a document already posted)."""
