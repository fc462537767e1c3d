"""Tokenize raw X12 bytes into interchanges, groups and transaction sets, checking the envelope.

Bytes are decoded as latin-1, so decoding never fails; characters outside the X12 character set
are reported later, per element, by the validator. Delimiters come from the fixed-width ISA of
each interchange (a file may hold several, each with its own delimiters). Whitespace (CR, LF,
spaces, tabs) after a segment terminator is layout, not data. Every structural fault becomes a
located Problem on the level it spoils; nothing here raises for bad input.
"""

from __future__ import annotations

from hub.errors import Location, Problem
from hub.functional_groups import GROUP_OF_SET

from .model import Delimiters, FunctionalGroup, Interchange, Segment, TransactionSet

ISA_LENGTH = 106
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)  # ISA01..ISA16
LAYOUT = " \t\r\n"
BOM = "\xef\xbb\xbf"  # the UTF-8 byte order mark, read as latin-1
TRAILING_JUNK = LAYOUT + "\x1a\x00"  # DOS end-of-file and NUL padding after the last IEA


def parse_interchanges(raw: bytes) -> list[Interchange]:
    """Every interchange in `raw`, in order (at least one, possibly holding only problems)."""
    text = raw.decode("latin-1")
    start = len(text) - len(text.lstrip(LAYOUT))
    if text.startswith(BOM, start):
        start += len(BOM)
        start += len(text) - start - len(text[start:].lstrip(LAYOUT))
    interchanges = []
    while True:
        reader = _InterchangeReader(text, start)
        interchanges.append(reader.read())
        start = reader.end
        rest = text[start:].lstrip(TRAILING_JUNK)
        if not rest or reader.interchange.problems and not reader.interchange.iea:
            return interchanges
        start = len(text) - len(rest)
        if not rest.startswith("ISA"):
            line, column = _line_column(text, start)
            interchanges[-1].problems.append(Problem(
                "isa:024", f"unexpected data after the IEA trailer: {_preview(rest)}",
                Location(line=line, column=column)))
            return interchanges


def parse_interchange(raw: bytes) -> Interchange:
    """The first interchange of `raw` (see parse_interchanges for files holding several)."""
    return parse_interchanges(raw)[0]


def _preview(text: str, size: int = 20) -> str:
    shown = text[:size].encode("unicode_escape").decode("ascii")
    return f"'{shown}'" + ("..." if len(text) > size else "")


def _line_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - text.rfind("\n", 0, offset)


def _not_x12(head: bytes) -> str:
    """Why bytes that do not start with ISA are not X12, in the analyst's words."""
    if head.startswith(b"%PDF"):
        return "the file is a PDF document, not X12"
    if head.startswith(b"\xc9\xe2\xc1"):
        return "the file looks like EBCDIC-encoded X12; only ASCII X12 is accepted"
    if head.startswith(b"UNA") or head.startswith(b"UNB"):
        return "the file is EDIFACT, not X12"
    if not head:
        return "the file is empty"
    shown = head[:20].decode("latin-1").encode("unicode_escape").decode("ascii")
    return f"the file does not start with an ISA segment (it starts with '{shown}')"


class _InterchangeReader:
    """Reads one interchange starting at `start`; `end` is where the next one may begin."""

    def __init__(self, text: str, start: int):
        self.text = text
        self.start = self.end = start
        self.line, self.column = _line_column(text, start)
        self.interchange: Interchange = None  # type: ignore[assignment]
        self.group: FunctionalGroup | None = None
        self.set: TransactionSet | None = None
        self.last: Segment | None = None
        self._envelope = {"GS": self._gs, "GE": self._ge, "ST": self._st, "SE": self._se, "IEA": self._iea}

    # -- ISA ---------------------------------------------------------------------------------
    def read(self) -> Interchange:
        text, start = self.text, self.start
        isa_text = text[start:start + ISA_LENGTH]
        placeholder = Segment("ISA", [], self.line, self.column, start)
        if not isa_text.startswith("ISA"):
            head = text[start:start + 20].encode("latin-1")
            return self._fail(placeholder, "isa:024", _not_x12(head))
        sep = isa_text[3] if len(isa_text) > 3 else ""
        problem = self._isa_layout_problem(isa_text, sep)
        if problem:
            return self._fail(placeholder, "isa:024", problem)
        terminator = isa_text[105]
        delimiters = Delimiters(sep, isa_text[104], terminator, self._repetition(isa_text))
        isa = Segment("ISA", isa_text[4:105].split(sep), self.line, self.column, start)
        self.interchange = Interchange(isa, delimiters)
        clash = self._delimiter_problem(delimiters)
        if clash:
            self.interchange.problems.append(Problem("isa:026", clash, self._where(isa)))
            self.end = len(text)
            return self.interchange
        self.last = isa
        self._read_segments(start + ISA_LENGTH)
        return self.interchange

    def _fail(self, isa: Segment, code: str, message: str) -> Interchange:
        self.interchange = Interchange(isa, Delimiters("*", ":", "~"))
        self.interchange.problems.append(Problem(code, message, Location(line=self.line, column=self.column)))
        self.end = len(self.text)
        return self.interchange

    def _isa_layout_problem(self, isa_text: str, sep: str) -> str | None:
        """Why the ISA is not the fixed 106 characters X12 requires, or None when it is."""
        if not sep or sep.isalnum() or sep in LAYOUT:
            return f"the ISA segment has no usable element separator after 'ISA' (found {_preview(sep)})"
        fields = self.text[self.start + 4:self.start + 4 + 300].split(sep, 16)
        if len(fields) < 17:
            return "the file ends inside the ISA segment (truncated?): fewer than 16 ISA elements"
        actual = 4 + sum(len(f) + 1 for f in fields[:15]) + 1 + 1
        wrong = [f"ISA{i:02d} is {len(f)} characters, not {w}"
                 for i, (f, w) in enumerate(zip(fields[:16], ISA_WIDTHS), 1) if i < 16 and len(f) != w]
        if len(fields[15]) < 1:
            wrong.append("ISA16 (component separator) is missing")
        if wrong or actual != ISA_LENGTH:
            return (f"the ISA segment is {actual} characters long; X12 requires exactly {ISA_LENGTH} "
                    f"({'; '.join(wrong) or 'fields misaligned'})")
        if len(isa_text) < ISA_LENGTH:
            return "the file ends inside the ISA segment (truncated?)"
        return None

    @staticmethod
    def _repetition(isa_text: str) -> str | None:
        version, candidate = isa_text[84:89], isa_text[82]
        if version >= "00402" and not candidate.isalnum() and candidate not in LAYOUT:
            return candidate
        return None

    @staticmethod
    def _delimiter_problem(d: Delimiters) -> str | None:
        used = [("element separator", d.element), ("component separator", d.component),
                ("segment terminator", d.segment)]
        if d.repetition:
            used.append(("repetition separator", d.repetition))
        chars = [c for _, c in used]
        for name, char in used:
            if chars.count(char) > 1:
                return f"the ISA uses {_preview(char)} for more than one delimiter ({name} among them)"
            if char.isalnum() or (char == " " and name != "segment terminator"):
                return f"the ISA declares {_preview(char)} as {name}; delimiters cannot be letters, digits or space"
        if d.segment == " ":
            return "the ISA declares a space as segment terminator"
        return None

    # -- segments ----------------------------------------------------------------------------
    def _read_segments(self, pos: int) -> None:
        text, d = self.text, self.interchange.delimiters
        term, sep = d.segment, d.element
        line, line_start = self.line, self.start - self.column + 1
        size = len(text)
        while pos < size:
            stripped = pos
            while stripped < size and text[stripped] in LAYOUT and text[stripped] != term:
                stripped += 1
            newlines = text.count("\n", pos, stripped)
            if newlines:
                line += newlines
                line_start = text.rfind("\n", pos, stripped) + 1
            pos = stripped
            if pos >= size:
                break
            end = text.find(term, pos)
            if end < 0:
                end = size
            body = text[pos:end]
            segment = Segment("", [], line, pos - line_start + 1, pos)
            if body:
                parts = body.split(sep)
                segment.id, segment.elements = parts[0], parts[1:]
            newlines = body.count("\n")
            if newlines:
                line += newlines
                line_start = pos + body.rfind("\n") + 1
            pos = end + 1
            if term == "\n":
                line += 1
                line_start = pos
            if self._segment(segment):
                self.end = pos
                return
        self.end = size
        self._end_of_file()

    def _segment(self, seg: Segment) -> bool:
        """Handle one segment; True when the interchange is complete (IEA read)."""
        handler = self._envelope.get(seg.id)
        if not seg.id:
            self._empty(seg)
            return False
        if handler:
            done = handler(seg)
        elif self.set is not None:
            self.set.segments.append(seg)
            done = False
        else:
            self._stray(seg)
            done = False
        self.last = seg
        return bool(done)

    def _where(self, seg: Segment, element: str | None = None, position: int | None = None) -> Location:
        ts = self.set.control if self.set is not None else None
        return Location(line=seg.line, column=seg.column, segment_id=seg.id or None,
                        segment_position=position, element=element, transaction_set=ts)

    def _after(self) -> str:
        last = self.last
        if last is None:
            return ""
        if self.set is not None:
            return f" after segment {last.id} #{len(self.set.segments)} (line {last.line})"
        return f" after segment {last.id} (line {last.line})"

    def _empty(self, seg: Segment) -> None:
        message = f"empty segment (two segment terminators in a row){self._after()}"
        if self.set is not None:
            where = Location(line=seg.line, column=seg.column, segment_position=len(self.set.segments) + 1,
                             transaction_set=self.set.control)
            self.set.problems.append(Problem("seg:1", message, where))
        elif self.group is not None:
            self.group.problems.append(Problem("grp:1", message, Location(line=seg.line, column=seg.column)))
        else:
            self.interchange.problems.append(Problem("isa:024", message, Location(line=seg.line, column=seg.column)))

    def _stray(self, seg: Segment) -> None:
        where = "inside the functional group but outside any transaction set" if self.group else "outside any functional group"
        message = f"segment {seg.id} is {where}{self._after()}"
        if self.group is not None:
            self.group.problems.append(Problem("grp:1", message, self._where(seg)))
        else:
            self.interchange.problems.append(Problem("isa:024", message, self._where(seg)))

    # -- envelope segments -------------------------------------------------------------------
    def _gs(self, seg: Segment) -> None:
        self._close_group(seg)
        self.group = FunctionalGroup(seg)
        self.interchange.groups.append(self.group)

    def _st(self, seg: Segment) -> None:
        if self.group is None:
            self.interchange.problems.append(Problem(
                "isa:024", f"transaction set {seg.get(1)} {seg.get(2)} starts outside a functional group (no GS before it)",
                self._where(seg)))
            self.group = FunctionalGroup(Segment("GS", [], seg.line, seg.column, seg.offset))
            self.interchange.groups.append(self.group)
        self._close_set(seg)
        self.set = TransactionSet(seg, [seg])
        self.group.sets.append(self.set)
        expected = GROUP_OF_SET.get(seg.get(1))
        if expected and self.group.functional_id != expected:
            self.set.problems.append(Problem(
                "set:6", f"transaction set {seg.get(1)} does not belong in a functional group with GS01 "
                         f"'{self.group.functional_id}' (it belongs in '{expected}')",
                self._where(seg, "ST01", 1)))

    def _se(self, seg: Segment) -> None:
        ts = self.set
        if ts is None:
            self._stray(seg)
            return
        ts.segments.append(seg)
        ts.se = seg
        position = len(ts.segments)
        count = seg.get(1)
        if as_count(count) != position:
            ts.problems.append(Problem("set:4", f"SE01 says {count or 'nothing'} segments but the set has {position}",
                                       self._where(seg, "SE01", position)))
        if seg.get(2) != ts.control:
            ts.problems.append(Problem("set:3", f"SE02 '{seg.get(2)}' does not match ST02 '{ts.control}'",
                                       self._where(seg, "SE02", position)))
        self.set = None

    def _ge(self, seg: Segment) -> None:
        group = self.group
        if group is None:
            self._stray(seg)
            return
        self._close_set(seg)
        group.ge = seg
        count = seg.get(1)
        if as_count(count) != len(group.sets):
            group.problems.append(Problem(
                "grp:5", f"GE01 says {count or 'nothing'} transaction sets but group {group.control} has {len(group.sets)}",
                self._where(seg, "GE01")))
        if seg.get(2) != group.control:
            group.problems.append(Problem("grp:4", f"GE02 '{seg.get(2)}' does not match GS06 '{group.control}'",
                                          self._where(seg, "GE02")))
        self.group = None

    def _iea(self, seg: Segment) -> bool:
        self._close_group(seg)
        ic = self.interchange
        ic.iea = seg
        count = seg.get(1)
        if as_count(count) != len(ic.groups):
            ic.problems.append(Problem("isa:021", f"IEA01 says {count or 'nothing'} functional groups but the interchange has {len(ic.groups)}",
                                       self._where(seg, "IEA01")))
        if seg.get(2) != ic.control:
            ic.problems.append(Problem("isa:001", f"IEA02 '{seg.get(2)}' does not match ISA13 '{ic.control}'",
                                       self._where(seg, "IEA02")))
        if not ic.groups:
            ic.problems.append(Problem("isa:024", "the interchange holds no functional group (no GS segment)",
                                       self._where(seg)))
        return True

    def _close_set(self, seg: Segment) -> None:
        ts = self.set
        if ts is not None:
            last = ts.segments[-1]
            ts.problems.append(Problem(
                "set:2", f"transaction set {ts.control} has no SE trailer: segment {seg.id} at line {seg.line} "
                         f"follows its last segment {last.id} #{len(ts.segments)}",
                Location(line=last.line, column=last.column, segment_id=last.id,
                         segment_position=len(ts.segments), transaction_set=ts.control)))
            self.set = None

    def _close_group(self, seg: Segment) -> None:
        self._close_set(seg)
        if self.group is not None:
            self.group.problems.append(Problem(
                "grp:3", f"functional group {self.group.control} has no GE trailer (segment {seg.id} at line {seg.line} follows it)",
                Location(line=seg.line, column=seg.column, segment_id=seg.id)))
            self.group = None

    def _end_of_file(self) -> None:
        """The text ended before IEA: say what was left open, and where."""
        ic, last, after = self.interchange, self.last, self._after()
        where = Location(line=last.line, column=last.column, segment_id=last.id) if last else Location()
        missing = []
        if self.set is not None:
            ts = self.set
            missing.append("SE")
            ts.problems.append(Problem(
                "set:2", f"the file ends inside transaction set {ts.control}{after}: SE trailer missing",
                Location(line=last.line, column=last.column, segment_id=last.id,
                         segment_position=len(ts.segments), transaction_set=ts.control)))
            self.set = None
        if self.group is not None:
            missing.append("GE")
            self.group.problems.append(Problem(
                "grp:3", f"the file ends inside functional group {self.group.control}: GE trailer missing", where))
        missing.append("IEA")
        if not ic.groups:
            ic.problems.append(Problem("isa:024", "the interchange holds no functional group (no GS segment)", where))
        ic.problems.append(Problem(
            "isa:023", f"the file ends{after} without {', '.join(missing)} (truncated?)", where))


def as_count(value: str) -> int | None:
    """A count as a number (zero-padded counts are valid), None when it is not one."""
    value = value.strip()
    return int(value) if value.isdigit() else None
