"""Fast validation of a transaction set against the same pyx12 map XML the oracle uses.

The map is compiled once per process into plain objects. The walk follows pyx12's own rules so
that both find the same errors in the same places: segments are matched forward by position within
the current loop, then in the enclosing loops; the first segment of a loop starts a new occurrence;
a mandatory segment or loop passed over is reported at the segment where its absence shows; a
segment that fits nowhere is reported and skipped. Element checks mirror pyx12's element validator
(usage, length, control characters, trailing spaces, code list, data type, regex), with the X12
extended character set (5010 adds ^ and `).

While walking, the generic tree is built (see reader.py / the mapping engine contract).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

from hub.errors import Location, Problem

from .model import Segment, TransactionSet

MAPS_DIR = Path(__file__).resolve().parent / "maps"
# (ST01, GS08 version) -> map file: every map maps/_generate.py wrote ("850.4010.xml" ...)
MAP_FILES = {(path.name[:3], f"00{path.name[4:8]}"): path.name for path in MAPS_DIR.glob("[0-9][0-9][0-9].[0-9][0-9][0-9][0-9].xml")}

CONTROL_CHARS = re.compile("[\x01-\x07\x09-\x0d\x11-\x17\x1c-\x1f]")
NOT_EXTENDED = {
    "00401": re.compile(r"""[^A-Z0-9!"&'()*+,\-./:;?= a-z%~@\[\]_{}\\|<>#$]"""),
    "00501": re.compile(r"""[^A-Z0-9!"&'()*+,\-./:;?= a-z%~@\[\]_{}\\|<>^`#$]"""),
}
NUMERIC = re.compile(r"-?[0-9]+")
DECIMAL = re.compile(r"-?[0-9]*(\.[0-9]+)?")
DIGITS = re.compile(r"[0-9]+")
_PASSED_KEPT = 4096  # passed values remembered per element rule


@dataclass(slots=True)
class ElementRule:
    ref: str  # BEG03, or CTP05-01 for a component
    seq: int
    usage: str
    data_type: str
    min_len: int
    max_len: int
    name: str
    codes: frozenset[str] = frozenset()
    regex: re.Pattern[str] | None = None
    components: list[ElementRule] | None = None  # set for a composite
    # values that passed every check here: most repeat (codes, units, SKUs, quantities), and a
    # value's checks depend only on the value and this rule; at most _PASSED_KEPT are kept
    passed: set[str] = field(default_factory=set, compare=False, repr=False)


@dataclass(slots=True, eq=False)
class SegmentRule:
    id: str
    usage: str
    pos: int
    max_use: int
    elements: list[ElementRule]


@dataclass(slots=True, eq=False)
class LoopRule:
    id: str
    usage: str
    pos: int
    repeat: int
    children: list[Any] = field(default_factory=list)  # SegmentRule | LoopRule, by position
    _scans: dict[tuple[int, str], _Scan] = field(default_factory=dict, repr=False)

    @property
    def first(self) -> SegmentRule:
        return self.children[0]

    def scan(self, from_pos: int, segment_id: str) -> _Scan:
        """The first child at or after `from_pos` that a `segment_id` segment matches (a segment
        rule, or a loop that starts with one), and the mandatory children passed over on the way
        (each with the segment rule to report missing). Remembered: a walk asks the same few
        questions for every line of every document."""
        key = (from_pos, segment_id)
        found = self._scans.get(key)
        if found is None:
            required = []
            match = None
            for child in self.children:
                if child.pos < from_pos:
                    continue
                first = child if isinstance(child, SegmentRule) else child.first
                if first.id == segment_id:
                    match = child
                    break
                if child.usage == "R":
                    required.append((child, first))
            found = self._scans[key] = _Scan(match, tuple(required))
        return found


@dataclass(frozen=True, slots=True)
class _Scan:
    match: SegmentRule | LoopRule | None
    required: tuple[tuple[SegmentRule | LoopRule, SegmentRule], ...]  # (child passed over, its first segment)


@dataclass(slots=True)
class CompiledMap:
    st_loop: LoopRule
    icvn: str
    known_ids: frozenset[str]


def map_file(set_id: str, version: str) -> str | None:
    """The map file for ST01 in GS08 `version` (004010, 004010VICS, 005010 ...), None if we have none."""
    return MAP_FILES.get((set_id, version[:6]))


@cache
def compiled_map(file_name: str) -> CompiledMap:
    root = etree.parse(str(MAPS_DIR / file_name)).getroot()
    data_elements = _data_elements()
    icvn = root.findtext("loop/segment[@xid='ISA']/element[@xid='ISA12']/valid_codes/code")
    st = root.find(".//loop[@xid='ST_LOOP']")
    st_loop = _loop(st, data_elements)
    return CompiledMap(st_loop, icvn, frozenset(_segment_ids(st_loop)))


@cache
def _data_elements() -> dict[str, tuple[str, int, int]]:
    root = etree.parse(str(MAPS_DIR / "dataele.xml")).getroot()
    return {e.get("ele_num"): (e.get("data_type"), int(e.get("min_len")), int(e.get("max_len")))
            for e in root.iter("data_ele")}


def _max(text: str) -> int:
    return 10**9 if text.strip() == ">1" else int(text)


def _loop(node, data_elements) -> LoopRule:
    loop = LoopRule(node.get("xid"), node.findtext("usage"), int(node.findtext("pos")), _max(node.findtext("repeat")))
    for child in node:
        if child.tag == "loop":
            loop.children.append(_loop(child, data_elements))
        elif child.tag == "segment":
            elements = [_element(e, data_elements) for e in child if e.tag in ("element", "composite")]
            loop.children.append(SegmentRule(child.get("xid"), child.findtext("usage"), int(child.findtext("pos")),
                                             _max(child.findtext("max_use")), elements))
    loop.children.sort(key=lambda c: c.pos)
    return loop


def _element(node, data_elements) -> ElementRule:
    ref, usage, seq = node.get("xid"), node.findtext("usage"), int(node.findtext("seq"))
    if node.tag == "composite":
        parts = [_element(e, data_elements) for e in node.iter("element")]
        return ElementRule(ref, seq, usage, "", 0, 0, node.findtext("name"), components=parts)
    data_type, lo, hi = data_elements[node.findtext("data_ele")]
    regex = node.findtext("regex")
    return ElementRule(ref, seq, usage, data_type, lo, hi, node.findtext("name"),
                       frozenset(c.text for c in node.iterfind("valid_codes/code")),
                       re.compile(regex) if regex else None)


def _segment_ids(loop: LoopRule):
    for child in loop.children:
        if isinstance(child, LoopRule):
            yield from _segment_ids(child)
        else:
            yield child.id


# -- walking --------------------------------------------------------------------------------

class _Frame:
    __slots__ = ("counts", "loop", "tree")

    def __init__(self, loop: LoopRule, tree: dict):
        self.loop, self.counts, self.tree = loop, {}, tree


class _SetValidator:
    def __init__(self, ts: TransactionSet, cmap: CompiledMap, component: str):
        self.ts, self.cmap, self.component = ts, cmap, component
        self.not_extended = NOT_EXTENDED.get(cmap.icvn, NOT_EXTENDED["00401"])
        self.problems: list[Problem] = []

    def run(self) -> dict:
        st = self.ts.segments[0]
        tree: dict = {}
        frames = [_Frame(self.cmap.st_loop, tree)]
        current = self.cmap.st_loop.first
        frames[0].counts[current] = 1
        self._check(current, st, 1, tree)
        for position, seg in enumerate(self.ts.segments[1:], 2):
            found = self._walk(frames, current, seg, position)
            if found is not None:
                current = found
                self._check(found, seg, position, frames[-1].tree)
        return tree

    def _walk(self, frames: list[_Frame], current: SegmentRule, seg: Segment, position: int):
        """Find the map node of `seg` from `current` (pyx12's walk); update frames and the tree."""
        node_pos, pending = current.pos, []
        for depth in range(len(frames) - 1, -1, -1):
            frame = frames[depth]
            loop, counts = frame.loop, frame.counts
            scan = loop.scan(node_pos, seg.id)
            pending += [first for child, first in scan.required if counts.get(child, 0) < 1]
            child = scan.match
            if isinstance(child, SegmentRule):
                if child is loop.first and depth > 0:  # a new occurrence of this loop
                    self._enter(frames, depth - 1, loop, seg, position)
                    self._missing(pending, seg, position)
                    return child
                del frames[depth + 1:]
                counts[child] = counts.get(child, 0) + 1
                if counts[child] > child.max_use:
                    self._add("seg:5", f"segment {seg.id} occurs more than {child.max_use} times here",
                              seg, position)
                self._missing([p for p in pending if p.pos != child.pos], seg, position)
                return child
            if child is not None:
                self._enter(frames, depth, child, seg, position)
                self._missing(pending, seg, position)
                return child.first
            node_pos = loop.pos
        self._not_found(frames, seg, position)
        return None

    def _enter(self, frames: list[_Frame], depth: int, loop: LoopRule, seg: Segment, position: int) -> None:
        """Start an occurrence of `loop` inside frames[depth]."""
        del frames[depth + 1:]
        parent = frames[depth]
        count = parent.counts[loop] = parent.counts.get(loop, 0) + 1
        if count > loop.repeat:
            self._add("seg:4", f"loop {loop.id} occurs more than {loop.repeat} times", seg, position)
        tree = {"_line": seg.line}
        parent.tree.setdefault(loop.id, []).append(tree)
        frame = _Frame(loop, tree)
        frame.counts[loop.first] = 1
        frames.append(frame)

    def _missing(self, pending: list[SegmentRule], seg: Segment, position: int) -> None:
        for rule in pending:
            where = Location(line=seg.line, column=seg.column, segment_id=rule.id, segment_position=position,
                             transaction_set=self.ts.control)
            self.problems.append(Problem("seg:3", f"mandatory segment {rule.id} is missing before segment "
                                                  f"{seg.id} #{position}", where))

    def _not_found(self, frames: list[_Frame], seg: Segment, position: int) -> None:
        inside = frames[-1].loop.id
        if seg.id in self.cmap.known_ids:
            code, what = "seg:7", f"segment {seg.id} is out of sequence: it cannot follow where it is (in {inside})"
        else:
            code, what = "seg:1", f"segment {seg.id} is not part of a {self.ts.set_id} transaction set"
        self._add(code, what, seg, position)

    def _add(self, code: str, message: str, seg: Segment, position: int, element: str | None = None) -> None:
        self.problems.append(Problem(code, message, Location(
            line=seg.line, column=seg.column, segment_id=seg.id, segment_position=position,
            element=element, transaction_set=self.ts.control)))

    # -- elements ---------------------------------------------------------------------------
    def _check(self, rule: SegmentRule, seg: Segment, position: int, tree: dict) -> None:
        values = seg.elements
        rules = rule.elements
        record = {"_line": seg.line}
        tree.setdefault(seg.id, []).append(record)
        if values and values[-1] == "":
            self._add("seg:8", f"segment {seg.id} ends with an element separator (empty trailing element)",
                      seg, position)
        if len(values) > len(rules):
            self._add("ele:3", f"segment {seg.id} has {len(values)} elements; at most {len(rules)} are defined",
                      seg, position, f"{seg.id}{len(rules) + 1:02d}")
        component = self.component
        for erule, value in zip(rules, values):
            if not value:
                if erule.usage == "R":
                    self._missing_element(erule, seg, position)
                continue
            if erule.components is not None:
                parts = value.split(component)
                record[erule.ref] = parts
                self._composite(erule, parts, seg, position)
                continue
            record[erule.ref] = value
            if component in value:
                self._add("ele:6", f"{erule.ref} ({erule.name}) holds the component separator "
                                   f"'{component}' but is not a composite", seg, position, erule.ref)
            else:
                self._simple(erule, value, seg, position, erule.ref, in_composite=None)
        for erule in rules[len(values):]:
            if erule.usage == "R":
                self._missing_element(erule, seg, position)
        for index in range(len(rules), len(values)):
            if values[index]:
                record[f"{seg.id}{index + 1:02d}"] = values[index]

    def _missing_element(self, rule: ElementRule, seg: Segment, position: int) -> None:
        what = "composite" if rule.components is not None else "element"
        self._add("ele:1", f"mandatory {what} {rule.ref} ({rule.name}) is missing", seg, position, rule.ref)

    def _composite(self, rule: ElementRule, parts: list[str], seg: Segment, position: int) -> None:
        if not any(parts):
            if rule.usage == "R":
                self._missing_element(rule, seg, position)
            return
        if rule.usage == "N":
            self._add("ele:10", f"composite {rule.ref} ({rule.name}) is not used", seg, position, rule.ref)
            return
        if len(parts) > len(rule.components):
            self._add("ele:3", f"composite {rule.ref} has {len(parts)} components; at most "
                               f"{len(rule.components)} are defined", seg, position, rule.ref)
        for index, sub in enumerate(rule.components):
            value = parts[index] if index < len(parts) else ""
            self._simple(sub, value, seg, position, f"{rule.ref}-{index + 1}", in_composite=rule)

    def _simple(self, rule: ElementRule, value: str, seg: Segment, position: int, ref: str,
                in_composite: ElementRule | None) -> None:
        add = self._add
        if value == "":
            if rule.usage == "R" and (rule.seq != 1 or in_composite is None or in_composite.usage == "R"):
                add("ele:1", f"mandatory element {ref} ({rule.name}) is missing", seg, position, ref)
            return
        if value in rule.passed:
            return
        problems_before = len(self.problems)
        if rule.usage == "N":
            add("ele:10", f"{ref} ({rule.name}) is not used but has '{value}'", seg, position, ref)
            return
        data_type = rule.data_type
        numeric = data_type == "R" or data_type[0] == "N"
        length = len(value.replace("-", "").replace(".", "")) if numeric else len(value)
        if length < rule.min_len:
            add("ele:4", f"{ref} ({rule.name}) '{value}' is too short: {length} < {rule.min_len}", seg, position, ref)
        if length > rule.max_len:
            add("ele:5", f"{ref} ({rule.name}) '{value[:40]}' is too long: {length} > {rule.max_len}",
                seg, position, ref)
        bad = CONTROL_CHARS.search(value)
        if bad:
            add("ele:6", f"{ref} ({rule.name}) contains the control character {bad.group()!r}", seg, position, ref)
            return
        if data_type in ("AN", "ID") and value[-1] == " " and len(value.rstrip()) >= rule.min_len:
            add("ele:6", f"{ref} ({rule.name}) '{value}' has trailing spaces", seg, position, ref)
        if rule.codes and value not in rule.codes:
            add("ele:7", f"{ref} ({rule.name}) '{value}' is not a valid code", seg, position, ref)
        problem = _type_problem(data_type, value, self.not_extended)
        if problem:
            code, what = problem
            add(code, f"{ref} ({rule.name}) '{value[:40]}' {what}", seg, position, ref)
        if rule.regex is not None and not rule.regex.search(value):
            add("ele:7", f"{ref} ({rule.name}) '{value}' is not a valid code", seg, position, ref)
        if len(self.problems) == problems_before and len(rule.passed) < _PASSED_KEPT:
            rule.passed.add(value)


def _type_problem(data_type: str, value: str, not_extended: re.Pattern[str]) -> tuple[str, str] | None:
    if data_type[0] == "N":
        return None if NUMERIC.fullmatch(value) else ("ele:6", "is not a whole number")
    if data_type == "R":
        return None if DECIMAL.fullmatch(value) else ("ele:6", "is not a decimal number")
    if data_type in ("AN", "ID"):
        bad = not_extended.search(value)
        return ("ele:6", f"contains {bad.group()!r}, outside the X12 character set") if bad else None
    if data_type == "DT":
        return None if _is_date(value) else ("ele:8", "is not a valid date (CCYYMMDD)")
    if data_type == "TM":
        return None if _is_time(value) else ("ele:9", "is not a valid time (HHMM[SS[dd]])")
    return None


def _is_date(value: str) -> bool:
    """pyx12's date rule: 6, 8 or 12 digits (YYMMDD, CCYYMMDD, CCYYMMDDHHMM), a real calendar day."""
    if len(value) not in (6, 8, 12) or not DIGITS.fullmatch(value):
        return False
    if len(value) == 6:
        value = ("20" if int(value[:2]) < 50 else "19") + value
    year, month, day = int(value[:4]), int(value[4:6]), int(value[6:8])
    if year < 1800 or not 1 <= month <= 12:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]
    return 1 <= day <= days and (len(value) != 12 or _is_time(value[8:12]))


def _is_time(value: str) -> bool:
    if not DIGITS.fullmatch(value) or value[:2] > "23" or value[2:4] > "59":
        return False
    return len(value) <= 4 or (6 <= len(value) <= 8 and value[4:6] <= "59")


def validate(ts: TransactionSet, version: str, component: str) -> bool:
    """Validate `ts` (ST01 from GS08 `version`); False when no map fits. Fills ts.problems and ts.tree."""
    name = map_file(ts.set_id, version)
    if name is None:
        return False
    checker = _SetValidator(ts, compiled_map(name), component)
    ts.tree = checker.run()
    ts.problems.extend(checker.problems)
    return True
