"""What a flow may use besides the document itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hub.erp import ErpGateway, ReferenceData
from hub.partners import Partner, PartnerDirectory
from hub.ports import ControlNumbers, DocumentWriter
from hub.rules.engine import RuleEngine


@dataclass(slots=True)
class FlowContext:
    erp: ErpGateway
    rules: RuleEngine
    writers: dict[str, DocumentWriter]  # by outbound kind (x12-855 ...)
    partners: PartnerDirectory
    ref: ReferenceData
    numbers: ControlNumbers


Flow = Callable[[Any, Any, Partner, FlowContext], None]  # (DocumentRun, canonical document, sender, context)
