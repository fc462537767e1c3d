"""A partner's functional acknowledgment (X12 997 or 999) of a functional group we sent.

It is recorded on the outbound files of that group (outbox ack_status, acknowledged_at,
ack_document_id, written with the file's other rows) and settles as posted: matched to what we
sent, with no ERP row. It is held in queue `integration` when it names no group we sent that
partner (UNMATCHED_ACK), and recorded and held when it rejects the group, wholly or in part
(ACK_REJECTED): a person corrects what we sent and sends it again.
"""

from __future__ import annotations

from typing import Any

from hub.canonical import REJECTED, FunctionalAcknowledgment
from hub.flows.context import FlowContext
from hub.functional_groups import GROUP_OF_SET
from hub.holds import Hold
from hub.partners import Partner

NOT_TAKEN = ("partially-accepted", REJECTED)  # outcomes that leave something we sent to be sent again


def record_acknowledgment(doc, ack: FunctionalAcknowledgment, partner: Partner, ctx: FlowContext) -> None:
    what = f"{doc.parsed.doc_type} from {partner.id}"
    in_group = ctx.sent(partner.id, ack.group_control)
    sent = [f for f in in_group if _names(ack, f.kind)]
    if not sent:
        return doc.hold([Hold("UNMATCHED_ACK", "integration", _unmatched(what, ack, in_group, partner.id))])
    doc.acknowledge([f.id for f in sent], ack.outcome)
    doc.advance("decided", detail={"acknowledged": [f.filename for f in sent], "outcome": ack.outcome})
    if ack.outcome in NOT_TAKEN:
        return doc.hold([Hold("ACK_REJECTED", "integration", _rejection(what, ack, sent))])
    doc.advance("posted")


def _names(ack: FunctionalAcknowledgment, kind: str) -> bool:
    """Whether the group the acknowledgment names (AK101) can hold a document of `kind`; yes when
    either is unknown."""
    group = GROUP_OF_SET.get(kind)
    return ack.functional_id is None or group is None or group == ack.functional_id


def _unmatched(what: str, ack: FunctionalAcknowledgment, in_group: list[Any], partner_id: str) -> str:
    if not in_group:
        return f"{what} acknowledges group {ack.group_control}, which we never sent to {partner_id}"
    ours = ", ".join(f"an {f.kind} ({f.filename})" for f in in_group)
    return (f"{what} acknowledges group {ack.group_control} as functional group {ack.functional_id}, but our group "
            f"{ack.group_control} to {partner_id} was {ours}")


def _rejection(what: str, ack: FunctionalAcknowledgment, sent: list[Any]) -> str:
    verb = "rejects" if ack.outcome == REJECTED else "partially accepts"
    rejected = [f"{s.set_id} {s.set_control}" for s in ack.sets if s.outcome == REJECTED]
    sets = f"; sets rejected: {', '.join(rejected)}" if rejected else ""
    return (f"{what} {verb} group {ack.group_control} ({', '.join(f.filename for f in sent)}){sets}: "
            f"correct what we sent and send it again")
