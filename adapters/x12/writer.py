"""Serialise outbound X12: one interchange with one functional group per file we send.

Control numbers (ISA13, GS06, ST02) come from the ledger's per-partner counters, never from a
clock. X12 has no escape for delimiters inside data, so any delimiter character in a value is
replaced by a space (partner text such as a description is the only place it can occur).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from datetime import datetime

from adapters.x12.model import Delimiters
from hub.ports import ControlNumbers, OutboundMessage

STANDARD_DELIMITERS = Delimiters(element="*", component=">", segment="~", repetition="^")


@dataclass(frozen=True, slots=True)
class Envelope:
    sender: tuple[str, str]  # (ISA05, ISA06): us
    receiver: tuple[str, str]  # (ISA07, ISA08): the partner
    gs_sender: str
    gs_receiver: str
    version: str  # GS08, e.g. 004010 or 005010
    usage: str = "P"  # ISA15
    delimiters: Delimiters = STANDARD_DELIMITERS

    @property
    def isa_version(self) -> str:
        return "00501" if self.version.startswith("005") else "00401"


Segment = list[str]  # [id, element1, element2, ...]; a composite is one string joined by the component separator


def clean(value: object, delimiters: Delimiters) -> str:
    text = "" if value is None else str(value)
    for ch in _separators(delimiters):
        text = text.replace(ch, " ")
    return text


@cache
def _separators(delimiters: Delimiters) -> tuple[str, ...]:
    return tuple({delimiters.element, delimiters.segment, delimiters.component, delimiters.repetition or ""} - {""})


def item_ids(buyer_part: str | None, vendor_part: str | None, upc: str | None, delimiters: Delimiters) -> list[str]:
    """Qualifier/id pairs naming an item on a line we send: the buyer's part (BP), the seller's, which
    is our SKU (VP), the UPC (UP); absent ones left out."""
    ids: list[str] = []
    for qualifier, value in (("BP", buyer_part), ("VP", vendor_part), ("UP", upc)):
        if value:
            ids += [qualifier, clean(value, delimiters)]
    return ids


def render_interchange(
    envelope: Envelope,
    functional_id: str,
    sets: list[list[Segment]],
    partner_id: str,
    numbers: ControlNumbers,
    when: datetime,
) -> tuple[str, str, str]:
    """The interchange text, its ISA13 and its GS06. Each set is its segments without ST/SE."""
    d = envelope.delimiters
    isa13 = numbers.next(partner_id, "isa")
    gs06 = numbers.next(partner_id, "gs")
    isa = [
        "ISA", "00", " " * 10, "00", " " * 10,
        envelope.sender[0], envelope.sender[1].ljust(15),
        envelope.receiver[0], envelope.receiver[1].ljust(15),
        when.strftime("%y%m%d"), when.strftime("%H%M"),
        (d.repetition or "^") if envelope.isa_version >= "00402" else "U",
        envelope.isa_version, f"{isa13:09d}", "0", envelope.usage, d.component,
    ]  # fmt: skip
    out: list[Segment] = [isa]
    out.append(["GS", functional_id, envelope.gs_sender, envelope.gs_receiver, when.strftime("%Y%m%d"), when.strftime("%H%M"), str(gs06), "X", envelope.version])
    for body in sets:
        st02 = f"{numbers.next(partner_id, 'st'):04d}"
        header = body[0]  # the ST segment the caller built, without its control number
        segments = [[header[0], header[1], st02, *header[2:]], *body[1:]]
        out.extend(segments)
        out.append(["SE", str(len(segments) + 1), st02])
    out.append(["GE", str(len(sets)), str(gs06)])
    out.append(["IEA", "1", f"{isa13:09d}"])
    end = d.segment if d.segment in "\r\n" else d.segment + "\n"  # a line break per segment, unless that is the terminator
    text = "".join(d.element.join(seg).rstrip(d.element) + end for seg in out[1:])
    return d.element.join(isa) + end + text, f"{isa13:09d}", str(gs06)


def message(partner_id: str, kind: str, envelope: Envelope, functional_id: str, sets: list[list[Segment]],
            numbers: ControlNumbers, when: datetime, expects_acknowledgment: bool = False) -> OutboundMessage:
    """One interchange for `partner_id` as the file we send (`<partner>-<kind>-<ISA13>.x12`).
    `expects_acknowledgment`: the partner owes a 997/999 for its group (not for an acknowledgment)."""
    text, isa13, gs06 = render_interchange(envelope, functional_id, sets, partner_id, numbers, when)
    return OutboundMessage(partner_id=partner_id, kind=kind, filename=f"{partner_id}-{kind}-{isa13}.x12",
                           content=text.encode("latin-1"), interchange_control=isa13, group_control=gs06,
                           expects_acknowledgment=expects_acknowledgment)


def document_to(partner, our_identity, kind: str, functional_id: str, body: list[Segment], version: str | None,
                numbers: ControlNumbers, when: datetime) -> OutboundMessage:
    """A business document we send `partner` (855, 856, 810): one set in the partner's own X12 identity."""
    envelope = Envelope(
        sender=(our_identity.isa.qualifier, our_identity.isa.id),
        receiver=(partner.isa.qualifier, partner.isa.id),
        gs_sender=our_identity.gs,
        gs_receiver=partner.gs or partner.isa.id,
        version=version or partner.x12_version or "004010",
    )
    return message(partner.id, kind, envelope, functional_id, [body], numbers, when, expects_acknowledgment=True)
