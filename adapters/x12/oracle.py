"""pyx12 as an independent oracle for the fast validator.

Runs pyx12 4.0.0's validation walk (the loop of `pyx12.x12n_document`, with our map directory and
maps loaded once per process) and reduces its error tree to, per transaction set (ST02), a verdict
and the set of error locations (segment position, element position, component position).
`findings_of` reduces our own TransactionSet to the same shape, so the two can be compared.

pyx12 defects guarded here (see shared/notes/libraries.md): it is not run on input it would
misread or crash on (non-ASCII bytes, an ISA that is not 106 characters or not version 00401/00501,
empty segments, segments over 8 KB), and every exception it raises ("Map not found", internal
errors) becomes a `skipped` reason instead. Its SE position is corrected: pyx12 counts SE only
after reading it, so errors found while walking SE would carry the position of the segment before.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from functools import cache

from .envelope import BOM, ISA_LENGTH, LAYOUT
from .model import TransactionSet
from .validator import MAPS_DIR, compiled_map, map_file

MAX_PYX12_SEGMENT = 8000  # pyx12's reader gives up silently on a longer segment

Location3 = tuple[int, int | None, int | None]


@dataclass(frozen=True, slots=True)
class SetFindings:
    set_control: str
    accepted: bool
    locations: frozenset[Location3]


@dataclass(slots=True)
class OracleResult:
    sets: list[SetFindings] = field(default_factory=list)  # in file order
    skipped: str | None = None  # why pyx12 was not run or did not finish


def run_pyx12(raw: bytes) -> OracleResult:
    text, reason = _pyx12_input(raw)
    if reason:
        return OracleResult(skipped=reason)
    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    try:
        errh = _validate(text)
    except Exception as exc:  # noqa: BLE001  (pyx12 raises EngineError, X12Error and plain bugs alike)
        return OracleResult(skipped=f"pyx12 failed: {type(exc).__name__}: {exc}")
    return OracleResult(sets=_collect(errh))


def findings_of(ts: TransactionSet, version: str) -> SetFindings:
    """Our TransactionSet in the oracle's shape.

    pyx12 reports a few element-level faults on the segment only (AK3 code 8, no AK4): too many
    elements, faults of a composite as a whole (missing, too many components, not used), and HL01/HL02
    hierarchy faults. Those are reduced to the segment here as well, as is every seg: problem."""
    name = map_file(ts.set_id, version)
    composites = _composite_refs(name) if name else frozenset()
    locations = set()
    for problem in ts.problems:
        loc = problem.location
        if not problem.code.startswith(("seg:", "ele:")) or loc.segment_position is None \
                or loc.segment_id in ("ST", "SE"):
            continue
        element = loc.element
        if problem.code.startswith("seg:") or problem.code == "ele:3" or element in composites or not element:
            locations.add((loc.segment_position, None, None))
            continue
        ref = element[len(loc.segment_id):] if loc.segment_id and element.startswith(loc.segment_id) else element
        ele, _, sub = ref.partition("-")
        locations.add((loc.segment_position, int(ele), int(sub) if sub else None))
    return SetFindings(ts.control, not ts.problems, frozenset(locations))


@cache
def _composite_refs(name: str) -> frozenset[str]:
    refs = set()
    stack = [compiled_map(name).st_loop]
    while stack:
        node = stack.pop()
        if hasattr(node, "children"):
            stack.extend(node.children)
        else:
            refs.update(e.ref for e in node.elements if e.components is not None)
    return frozenset(refs)


def _pyx12_input(raw: bytes) -> tuple[str, str | None]:
    """The text pyx12 may safely read, or why it may not read this file."""
    text = raw.decode("latin-1")
    text = text.lstrip(LAYOUT)
    if text.startswith(BOM):
        text = text[len(BOM):].lstrip(LAYOUT)
    if not text.isascii():
        return text, "non-ASCII bytes (pyx12 raises UnicodeDecodeError)"
    if not text.startswith("ISA") or len(text) < ISA_LENGTH:
        return text, "not an X12 interchange"
    sep = text[3]
    if [i for i, c in enumerate(text[:ISA_LENGTH - 2]) if c == sep] != [3, 6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103]:
        return text, "ISA is not 106 characters (pyx12 reads the delimiters from wrong offsets)"
    if text[84:89] not in ("00401", "00501"):
        return text, f"ISA12 {text[84:89]} (pyx12 reads only 00401 and 00501)"
    term = text[105]
    segments = text.split(term)
    if any(len(s) > MAX_PYX12_SEGMENT for s in segments):
        return text, "a segment over 8 KB (pyx12 stops reading there)"
    if any(not s.strip("\r\n") for s in segments[:-1]):
        return text, "an empty segment (pyx12 stops reading there)"
    return text, None


@cache
def _param():
    import pyx12.params

    return pyx12.params.params()


@cache
def _map(name: str):
    import pyx12.map_if

    return pyx12.map_if.load_map_file(name, _param(), str(MAPS_DIR))


@cache
def _index():
    import pyx12.map_index

    return pyx12.map_index.map_index(str(MAPS_DIR))


def _validate(text: str):
    """pyx12.x12n_document's walk, minus its outputs, with cached maps. Returns the error handler."""
    import pyx12.error_handler
    import pyx12.errors
    import pyx12.x12file
    from pyx12.map_if._segment import apply_segment_errors
    from pyx12.map_walker import apply_walk_errors, walk_tree

    errh = pyx12.error_handler.err_handler()
    src = pyx12.x12file.X12Reader(io.StringIO(text))
    control = _map("x12.control.00501.xml" if src.icvn == "00501" else "x12.control.00401.xml")
    node = control.getnodebypath("/ISA_LOOP/ISA")
    walker = walk_tree()
    icvn = None
    cur_map = control
    for seg in src:
        seg_id = seg.get_seg_id()
        orig_node = node
        if seg_id == "ISA":
            node = control.getnodebypath("/ISA_LOOP/ISA")
            walker.forceWalkCounterToLoopStart("/ISA_LOOP", "/ISA_LOOP/ISA")
        elif seg_id == "GS":
            node = control.getnodebypath("/ISA_LOOP/GS_LOOP/GS")
            walker.forceWalkCounterToLoopStart("/ISA_LOOP/GS_LOOP", "/ISA_LOOP/GS_LOOP/GS")
        else:
            count = src.get_seg_count() + (1 if seg_id == "SE" else 0)
            node, _, _, walk_errors = walker.walk_errors(node, seg, count, src.get_cur_line(), src.get_ls_id())
            apply_walk_errors(errh, walk_errors)
        if node is None:
            node = orig_node
            continue
        if seg_id == "ISA":
            errh.add_isa_loop(seg, src)
            icvn = seg.get_value("ISA12")
            errh.handle_errors(src.pop_errors())
        elif seg_id == "IEA":
            errh.handle_errors(src.pop_errors())
            errh.close_isa_loop(node, seg, src)
        elif seg_id == "GS":
            name = _index().get_filename(icvn, seg.get_value("GS08"), seg.get_value("GS01"))
            if name is None:
                raise pyx12.errors.EngineError(
                    f"Map not found for GS01 {seg.get_value('GS01')} GS08 {seg.get_value('GS08')}")
            cur_map = _map(name)
            node = cur_map.getnodebypath("/ISA_LOOP/GS_LOOP/GS")
            errh.add_gs_loop(seg, src)
            errh.handle_errors(src.pop_errors())
        elif seg_id == "GE":
            errh.handle_errors(src.pop_errors())
            errh.close_gs_loop(node, seg, src)
        elif seg_id == "ST":
            errh.add_st_loop(seg, src)
            errh.handle_errors(src.pop_errors())
        elif seg_id == "SE":
            errh.handle_errors(src.pop_errors())
            errh.close_st_loop(node, seg, src)
        else:
            errh.add_seg(node, seg, src.get_seg_count(), src.get_cur_line(), src.get_ls_id())
            errh.handle_errors(src.pop_errors())
        apply_segment_errors(node, seg, errh)
    src.cleanup()
    errh.handle_errors(src.pop_errors())
    return errh


def _collect(errh) -> list[SetFindings]:
    sets = []
    for isa in errh.children:
        for gs in isa.children:
            for st in gs.children:
                locations = set()
                for seg in st.children:
                    if seg.errors:
                        locations.add((seg.seg_count, None, None))
                    for ele in seg.elements:
                        if ele.errors:
                            locations.add((seg.seg_count, ele.ele_pos, ele.subele_pos))
                control = st.trn_set_control_num.strip()
                sets.append(SetFindings(control, st.ack_code == "A", frozenset(locations)))
    return sets
