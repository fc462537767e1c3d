"""The HL hierarchy of a transaction set (856): checked, and linked into the generic tree.

The map keeps the HL loop flat, as the standard does; the hierarchy is in HL01 (this level's
number) and HL02 (its parent's number). The checks are pyx12's (4.0.0, x12file._parse_segment):
HL01 counts 1, 2, 3 ... within the set; HL02, when present, names a level that is still open, i.e.
the HL before it or one of that HL's ancestors, so the levels form a tree written in pre-order;
the first HL has no parent. An HL without HL02 starts a new root and closes the open levels (pyx12
keeps them open, which only matters for a later HL naming a level across that root: not pre-order,
so we report it).

Codes: pyx12 records these faults on the HL segment under its own codes "HL1"/"HL2", which are not
AK304 codes, so its 997 rejects the set without an AK3 for them. We report seg:8 (AK304 8, segment
has data element errors) on the same HL segment, with HL01 or HL02 in the location for the
analyst: the same finding as pyx12's, segment-level, no AK4.

856 only, our rule (pyx12 has none): an item level (HL03 "I") must have an order level ("O")
among its ancestors and an order level a shipment level ("S"). Reported as ele:7 at HL03 (AK4 code
7: the level code is not valid where it stands), since the level code is what places it wrongly.
"""

from __future__ import annotations

from hub.errors import Location, Problem

from .model import Segment, TransactionSet

# HL03 of a ship notice level -> (its name, the HL03 that must enclose it, what that level is)
REQUIRED_ANCESTOR = {"I": ("item", "O", "an order"), "O": ("order", "S", "a shipment")}


def check(ts: TransactionSet) -> None:
    """Check the HL hierarchy of `ts` (problems are added to it) and link its tree's HL loops.

    Every HL loop dict of ts.tree["HL_LOOP"] gets "_within": the HL loop dicts below it (all
    descendants, in document order). Nothing happens for a set without HL loops."""
    loops = (ts.tree or {}).get("HL_LOOP")
    if not loops:
        return
    hls = [(position, seg) for position, seg in enumerate(ts.segments, 1) if seg.id == "HL"]
    levels = _levels([(seg.get(1), seg.get(2)) for _, seg in hls])
    for (position, seg), (ancestors, faults) in zip(hls, levels):
        for element, message in faults:
            ts.problems.append(_problem(ts, "seg:8", message, seg, position, element))
        if ts.set_id == "856" and not any(element == "HL02" for element, _ in faults):
            name, required, what = REQUIRED_ANCESTOR.get(seg.get(3), (None, None, None))
            if required and required not in {hls[i][1].get(3) for i in ancestors}:
                message = (f"{name} level HL {seg.get(1)} is not inside {what} level (HL03 '{required}'): in a ship "
                           f"notice every {name} belongs to {what}, named through HL02")
                ts.problems.append(_problem(ts, "ele:7", message, seg, position, "HL03"))
    for loop in loops:
        loop["_within"] = []
    ids = [(loop["HL"][0].get("HL01", ""), loop["HL"][0].get("HL02", "")) for loop in loops]
    for loop, (ancestors, _) in zip(loops, _levels(ids)):
        for index in ancestors:
            loops[index]["_within"].append(loop)


def _levels(ids: list[tuple[str, str]]) -> list[tuple[list[int], list[tuple[str, str]]]]:
    """For each HL (HL01, HL02) in order: the indices of its ancestors and its faults (element, message).

    Levels are known by their count (1, 2, 3 ...) as pyx12 does; a level whose parent is not open
    becomes a root."""
    result = []
    open_levels: list[int] = []  # indices of the HL before this one and its ancestors
    for index, (hl01, hl02) in enumerate(ids):
        faults = []
        if _int(hl01) != index + 1:
            message = f"HL01 is '{hl01}' but this is HL level {index + 1} of the transaction set: HL01 must count " \
                      "1, 2, 3 ... in order"
            faults.append(("HL01", message))
        if hl02:
            parent = _int(hl02)
            if parent is not None and parent - 1 in open_levels:
                del open_levels[open_levels.index(parent - 1) + 1:]
            else:
                where = ("but the first HL of a transaction set has no parent" if index == 0 else
                         "which is not an enclosing HL level in this transaction set")
                faults.append(("HL02", f"HL {hl01} names parent {hl02}, {where}"))
                open_levels = []
        else:
            open_levels = []
        result.append((list(open_levels), faults))
        open_levels.append(index)
    return result


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _problem(ts: TransactionSet, code: str, message: str, seg: Segment, position: int, element: str) -> Problem:
    return Problem(code, message, Location(line=seg.line, column=seg.column, segment_id="HL",
                                           segment_position=position, element=element, transaction_set=ts.control))
