"""Functional acknowledgments: a 997 (004010) or 999 (005010) for every inbound functional group,
except a group of acknowledgments (GS01 FA): X12 never acknowledges an acknowledgment.

Built from what our reader found, not by pyx12 (its generated 997 reuses the inbound GS06,
writes GS08 as 00401, miscounts partial acceptance and breaks on 5010 without ST03). The
envelope mirrors the inbound: our ISA as sender, theirs as receiver, the GS08 version they sent,
their delimiters. Each file is one interchange with one group holding one acknowledgment set.

    AK1/AK2 name the group and set; AK3 (IK3) locates a segment error, AK4 (IK4) an element error
    inside it; AK5 (IK5) accepts or rejects the set; AK9 counts the group: A all accepted,
    P partially accepted, R rejected.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from adapters.x12.model import FunctionalGroup, Interchange, TransactionSet
from adapters.x12.writer import Envelope, Segment, message
from hub.errors import Problem
from hub.ports import ControlNumbers, OutboundMessage, ReadResult

IMPLEMENTATION_999 = "005010X231A1"
_ELEMENT = re.compile(r"^[A-Z][A-Z0-9]{1,2}?(\d{2})(?:-(\d+))?$")


def _code(problem: Problem) -> tuple[str, str]:
    kind, _, number = problem.code.partition(":")
    return kind, number


def _element_position(element: str | None, component_separator: str) -> str:
    match = _ELEMENT.match(element or "")
    if not match:
        return ""
    position, component = match.groups()
    return f"{int(position)}{component_separator}{component}" if component else str(int(position))


def _set_segments(ts: TransactionSet, is_999: bool, component_separator: str) -> tuple[list[Segment], bool]:
    """AK2 .. AK5 for one transaction set, and whether it is accepted."""
    segments: list[Segment] = [["AK2", ts.set_id, ts.control, *([ts.implementation] if is_999 and ts.implementation else [])]]
    seg_tag, ele_tag, end_tag = ("IK3", "IK4", "IK5") if is_999 else ("AK3", "AK4", "AK5")
    by_segment: dict[tuple, list[Problem]] = {}
    set_codes: list[str] = []
    for problem in ts.problems:
        kind, number = _code(problem)
        if kind == "set":
            set_codes.append(number)
        elif kind in ("seg", "ele"):
            loc = problem.location
            by_segment.setdefault((loc.segment_id, loc.segment_position), []).append(problem)
    for (segment_id, position), problems in by_segment.items():
        seg_codes = [_code(p)[1] for p in problems if _code(p)[0] == "seg"]
        element_problems = [p for p in problems if _code(p)[0] == "ele"]
        segments.append([seg_tag, segment_id or "", str(position or ""), "", seg_codes[0] if seg_codes else "8"])
        for p in element_problems:
            segments.append([ele_tag, _element_position(p.location.element, component_separator), "", _code(p)[1]])
    if by_segment and "5" not in set_codes:
        set_codes.append("5")
    accepted = not ts.problems
    segments.append([end_tag, "A" if accepted else "R", *set_codes[:5]])
    return segments, accepted


def group_acknowledgment(group: FunctionalGroup, interchange_ok: bool, component_separator: str) -> tuple[str, list[Segment]]:
    """(functional kind "997"/"999", segments of the set without ST's control number)."""
    is_999 = group.version.startswith("005")
    kind = "999" if is_999 else "997"
    body: list[Segment] = [["ST", kind, *([IMPLEMENTATION_999] if is_999 else [])]]
    body.append(["AK1", group.functional_id, group.control, *([group.version] if is_999 else [])])
    accepted = 0
    for ts in group.sets:
        segments, ok = _set_segments(ts, is_999, component_separator)
        body.extend(segments)
        accepted += ok
    group_codes = [_code(p)[1] for p in group.problems if _code(p)[0] == "grp"]
    received = len(group.sets)
    included = group.ge.get(1) if group.ge is not None and group.ge.get(1).isdigit() else str(received)
    if group_codes or not interchange_ok or accepted == 0:
        status = "R"
    elif accepted < received:
        status = "P"
    else:
        status = "A"
    body.append(["AK9", status, included, str(received), str(accepted), *group_codes[:5]])
    return kind, body


class X12Acknowledger:
    def acknowledge(self, result: ReadResult, partner, our_identity, numbers: ControlNumbers) -> list[OutboundMessage]:
        if partner is None:
            return []
        when = datetime.now(UTC)
        messages = []
        interchanges: list[Interchange] = result.envelope or []
        for interchange, group in ((i, g) for i in interchanges for g in i.groups if g.functional_id != "FA"):
            kind, body = group_acknowledgment(group, not interchange.problems, interchange.delimiters.component)
            envelope = Envelope(
                sender=(our_identity.isa.qualifier, our_identity.isa.id),
                receiver=interchange.sender,
                gs_sender=our_identity.gs,
                gs_receiver=group.sender or (partner.gs or ""),
                version=group.version or (partner.x12_version or "004010"),
                usage=interchange.usage or "P",
                delimiters=interchange.delimiters,
            )
            messages.append(message(partner.id, kind, envelope, "FA", [body], numbers, when))
        return messages
