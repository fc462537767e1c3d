"""The X12 envelope as read: interchange > functional groups > transaction sets > segments.

Problems found while reading are kept on the level they belong to, with codes that say which
acknowledgment code they become:

    "seg:N"  AK304 / IK304 segment error N   (1 unrecognized id, 2 unexpected, 3 mandatory missing,
                                              4 loop over max, 5 segment over max use,
                                              6 not in defined set, 7 not in sequence, 8 has element errors;
                                              8 also for an HL01/HL02 hierarchy fault, with the element
                                              named in the location: see hierarchy.py)
    "ele:N"  AK403 / IK403 element error N   (1 mandatory missing, 2 conditional missing, 3 too many
                                              elements, 4 too short, 5 too long, 6 invalid character,
                                              7 invalid code, 8 invalid date, 9 invalid time, 10 exclusion;
                                              7 also for an 856 HL03 level outside the level it needs)
    "set:N"  AK502 / IK502 set error N       (1 not supported, 2 trailer missing, 3 control numbers differ,
                                              4 segment count wrong, 5 segments in error, 6 bad set id,
                                              7 bad control number)
    "grp:N"  AK905 group error N             (1 not supported, 2 version not supported, 3 trailer missing,
                                              4 control numbers differ, 5 set count wrong, 6 bad control)
    "isa:NNN" interchange error (TA1 note codes, e.g. 001 control numbers differ, 021 bad group count,
                                 023 IEA missing, 024 invalid content): the interchange cannot be used.

A problem's Location has segment_id, segment_position (ST is 1), element ("BEG03", or "PO106-2"
for component 2), line and column in the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.errors import Problem


@dataclass(frozen=True, slots=True)
class Delimiters:
    element: str
    component: str
    segment: str
    repetition: str | None = None  # ISA11 in 00402 and later; None when ISA11 is "U"


@dataclass(slots=True)
class Segment:
    id: str
    elements: list[str]  # elements[0] is <id>01; composites stay joined by the component separator
    line: int  # 1-based line of the segment's first character in the file
    column: int  # 1-based column
    offset: int  # 0-based character offset in the file

    def get(self, position: int) -> str:
        """Element at 1-based `position`, '' when absent."""
        return self.elements[position - 1] if 0 < position <= len(self.elements) else ""


@dataclass(slots=True)
class TransactionSet:
    st: Segment
    segments: list[Segment]  # ST .. SE inclusive (SE absent when the trailer is missing)
    se: Segment | None = None
    problems: list[Problem] = field(default_factory=list)
    tree: dict[str, Any] | None = None  # generic tree, built by validation when the map fits

    @property
    def set_id(self) -> str:  # ST01
        return self.st.get(1)

    @property
    def control(self) -> str:  # ST02
        return self.st.get(2)

    @property
    def implementation(self) -> str:  # ST03 (005010)
        return self.st.get(3)

    @property
    def accepted(self) -> bool:
        return not self.problems


@dataclass(slots=True)
class FunctionalGroup:
    gs: Segment
    sets: list[TransactionSet] = field(default_factory=list)
    ge: Segment | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def functional_id(self) -> str:  # GS01
        return self.gs.get(1)

    @property
    def sender(self) -> str:  # GS02
        return self.gs.get(2)

    @property
    def receiver(self) -> str:  # GS03
        return self.gs.get(3)

    @property
    def control(self) -> str:  # GS06
        return self.gs.get(6)

    @property
    def version(self) -> str:  # GS08, e.g. 004010 or 005010X...
        return self.gs.get(8)


@dataclass(slots=True)
class Interchange:
    isa: Segment
    delimiters: Delimiters
    groups: list[FunctionalGroup] = field(default_factory=list)
    iea: Segment | None = None
    problems: list[Problem] = field(default_factory=list)  # "isa:" problems: nothing is usable

    @property
    def sender(self) -> tuple[str, str]:  # (ISA05, ISA06 stripped)
        return self.isa.get(5).strip(), self.isa.get(6).strip()

    @property
    def receiver(self) -> tuple[str, str]:  # (ISA07, ISA08 stripped)
        return self.isa.get(7).strip(), self.isa.get(8).strip()

    @property
    def control(self) -> str:  # ISA13
        return self.isa.get(13)

    @property
    def version(self) -> str:  # ISA12, 00401 or 00501
        return self.isa.get(12)

    @property
    def usage(self) -> str:  # ISA15, P or T
        return self.isa.get(15)
