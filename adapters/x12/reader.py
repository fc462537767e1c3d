"""The X12 format reader: raw bytes -> envelope + one generic tree per transaction set.

Generic tree of a transaction set (the contract with the mapping engine): a segment id maps to a
list of element dicts, one per occurrence ({"BEG03": "PO-1", ..., "_line": 4}, empty elements
left out, a composite as the list of its components); a loop id ("PO1_LOOP") maps to a list of
dicts of the same shape, each with the "_line" of its first segment.

HL hierarchy (856): the top-level "HL_LOOP" is the flat list of every HL loop dict in document
order, as in the X12 standard; in addition each HL loop dict has "_within": the list of the HL
loop dicts below it in the hierarchy (all descendants, in document order, built from HL01/HL02;
empty for a leaf). These are plain references to the same dicts, with no parent pointer, so the
tree has no cycles. For example (JMESPath): orders `HL_LOOP[?HL[0].HL03=='O']`, the items of an
order `_within[?HL[0].HL03=='I']`, the SSCC-18 of its packs
`_within[?HL[0].HL03=='P'].MAN[] | [?MAN01=='GM'].MAN02` (a filter right after a projection,
`_within[?...].MAN[?...]`, applies to the projected list as a whole and finds nothing). See
hierarchy.py for the checks.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from hub.errors import Location, Problem
from hub.ports import ParsedDocument, ReadResult

from . import hierarchy
from .envelope import BOM, LAYOUT, as_count, parse_interchanges
from .model import FunctionalGroup, Interchange, Segment, TransactionSet
from .validator import validate


class X12Reader:
    name = "x12"

    def sniff(self, raw: bytes) -> bool:
        head = raw[:64].decode("latin-1").lstrip(LAYOUT)
        if head.startswith(BOM):
            head = head[len(BOM):].lstrip(LAYOUT)
        return head.startswith("ISA")

    def read(self, raw: bytes, options: dict[str, Any] | None = None) -> ReadResult:
        interchanges = parse_interchanges(raw)
        first = interchanges[0]
        result = ReadResult(format="x12", envelope=interchanges, contents=stated_contents(interchanges))
        if first.isa.elements:
            result.sender = first.sender
            result.interchange_control = first.control
        for interchange in interchanges:
            result.problems.extend(interchange.problems)
            for group in interchange.groups:
                for ts in group.sets:
                    result.documents.append(self._document(len(result.documents) + 1, interchange, group, ts))
        return result

    @staticmethod
    def _document(index: int, interchange: Interchange, group: FunctionalGroup, ts: TransactionSet) -> ParsedDocument:
        if not validate(ts, group.version, interchange.delimiters.component):
            ts.problems.append(Problem(
                "set:1", f"transaction set {ts.set_id} in version '{group.version}' is not supported",
                Location(line=ts.st.line, column=ts.st.column, segment_id="ST", segment_position=1,
                         element="ST01", transaction_set=ts.control)))
        else:
            hierarchy.check(ts)
        control = {"group_control": group.control, "set_control": ts.control, "version": group.version,
                   "functional_id": group.functional_id}
        return ParsedDocument(index, ts.set_id, ts.tree or {}, control, ts.problems + group.problems)


def stated_contents(interchanges: list[Interchange]) -> dict[str, Any] | None:
    """What the file says it holds, from its own control counts, summed over the file: functional
    groups (IEA01), transaction sets by type (GE01), segments (SE01). A count that is missing or not
    a number counts what was found instead (the reader reports it as a problem). A group's GE01 goes
    to the type of its sets (ST01); a group mixing types counts the sets found of each, and its first
    set's type takes what GE01 states beyond the others (never below zero); a group without sets
    counts as "GS01:<functional id>". None when not even an ISA could be read."""
    if not any(interchange.isa.elements for interchange in interchanges):
        return None
    groups = segments = 0
    documents: Counter[str] = Counter()
    for interchange in interchanges:
        groups += _stated(interchange.iea, len(interchange.groups))
        for group in interchange.groups:
            found = Counter(ts.set_id for ts in group.sets)
            first = group.sets[0].set_id if group.sets else f"GS01:{group.functional_id}"
            others = len(group.sets) - found[first]
            found[first] = max(0, _stated(group.ge, len(group.sets)) - others)
            documents.update(found)
            segments += sum(_stated(ts.se, len(ts.segments)) for ts in group.sets)
    return {"groups": groups, "documents": dict(documents), "segments": segments}


def _stated(trailer: Segment | None, found: int) -> int:
    """The count a trailer states (IEA01, GE01, SE01), or `found` when it states none."""
    stated = as_count(trailer.get(1)) if trailer is not None else None
    return found if stated is None else stated
