"""What a flow may use besides the document itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hub.erp import ErpGateway, ReferenceData
from hub.partners import Partner, PartnerDirectory
from hub.ports import ControlNumbers, DocumentWriter
from hub.rules.engine import RuleEngine

SentFiles = Callable[[str, str], list[Any]]  # (partner id, our GS06) -> outbox rows (id, kind, filename)


@dataclass(slots=True)
class FlowContext:
    erp: ErpGateway
    rules: RuleEngine
    writers: dict[str, DocumentWriter]  # by outbound kind (x12-855 ...)
    partners: PartnerDirectory
    ref: ReferenceData
    numbers: ControlNumbers
    sent: SentFiles  # what we sent a partner in a functional group, read in the run's transaction
    # An operator's resolution of a held document, run again: its held ERP records are judged
    # afresh (ErpGateway reconsider), the hold codes in `waived` no longer hold it, and order lines
    # in `price_overrides` (line_no -> unit price per the line's uom) are booked at that price.
    reconsider: bool = False
    waived: frozenset[str] = frozenset()
    price_overrides: dict[int, Decimal] = field(default_factory=dict)


Flow = Callable[[Any, Any, Partner, FlowContext], None]  # (DocumentRun, canonical document, sender, context)
