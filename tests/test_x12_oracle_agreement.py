"""The fast validator and pyx12 (the oracle) agree on verdicts and error locations.

Compared per transaction set (ST02): accepted or rejected, and the set of error locations
(segment position, element position, component position). Known, narrow exceptions:
- sets pyx12 never reports: ST01 outside its GS01 group (pyx12 drops them silently; we give set:6);
- pyx12 says "accepted" for an 810 inside a PO group (it validates it against the 850 map and
  loses the ST01 error); we reject it with set:6;
- pyx12 never sees a final segment that has no terminator (a truncated file): only verdicts are
  compared there;
- pyx12 keeps element errors of ST and SE at set level (they count in the verdict only);
- files pyx12 is not run on (oracle.run_pyx12 says why: non-ASCII, ISA not 106 characters or not
  00401/00501, empty or >8 KB segments, a group with no map such as a 997 or an 810);
- pyx12 reports too-many-elements and whole-composite faults on the segment only (findings_of
  reduces ours the same way).
"""

from __future__ import annotations

from pathlib import Path

import sys

import pytest

from adapters.x12.envelope import parse_interchanges
from adapters.x12.oracle import findings_of, run_pyx12
from adapters.x12.validator import validate

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_x12_reader import BAD, BAD_INTERCHANGE, SCENARIO_850, SUMMIT  # noqa: E402  (shared bad inputs)

PUBLIC = Path(__file__).resolve().parents[2] / "shared" / "samples" / "public"


def public_850s() -> list[Path]:
    if not PUBLIC.is_dir():
        return []
    return sorted(p for p in PUBLIC.glob("*/*") if p.suffix not in (".json", ".csv")
                  and not p.name.startswith("LICENSE") and b"ST*850" in p.read_bytes().replace(b"\x7f", b"*"))


def compare(raw: bytes, locations: bool = True) -> int:
    """Assert agreement on every 850 set pyx12 judged; return how many sets were compared."""
    oracle = run_pyx12(raw)
    if oracle.skipped:
        return 0
    ours_all = [(ts, group) for interchange in _validated(raw) for group in interchange.groups for ts in group.sets]
    assert len(ours_all) == len(oracle.sets)
    compared = 0
    for (ts, group), theirs in zip(ours_all, oracle.sets):
        if ts.set_id != "850" or any(p.code == "set:6" for p in ts.problems):
            continue
        ours = findings_of(ts, group.version)
        assert ours.accepted == theirs.accepted, [p.describe() for p in ts.problems]
        if locations:
            assert ours.locations == theirs.locations, [p.describe() for p in ts.problems]
        compared += 1
    return compared


def _validated(raw: bytes):
    interchanges = parse_interchanges(raw)
    for interchange in interchanges:
        for group in interchange.groups:
            for ts in group.sets:
                validate(ts, group.version, interchange.delimiters.component)
    return interchanges


@pytest.mark.parametrize("path", SCENARIO_850, ids=lambda p: p.name)
def test_scenario_850s_agree(path):
    assert compare(path.read_bytes()) == 1


@pytest.mark.parametrize("name", BAD)
def test_bad_sets_agree(name):
    raw = BAD[name][0](SUMMIT)
    compared = compare(raw)
    if name in ("empty segment", "segment over 8 KB", "non-ASCII name"):
        assert compared == 0 and run_pyx12(raw).skipped  # the pyx12 defects we guard against
    elif name == "ST*810 in a PO group":
        assert compared == 0 and run_pyx12(raw).sets[0].accepted  # pyx12 is wrong here
    else:
        assert compared == 1


@pytest.mark.parametrize("name", BAD_INTERCHANGE)
def test_bad_interchanges_never_crash_the_oracle(name):
    raw = BAD_INTERCHANGE[name][0](SUMMIT)
    oracle = run_pyx12(raw)
    assert oracle.skipped or isinstance(oracle.sets, list)
    compare(raw, locations=name != "truncated")


def test_public_850s_agree():
    files = public_850s()
    if not files:
        pytest.skip(f"no public samples at {PUBLIC}")
    compared = sum(compare(p.read_bytes()) for p in files)
    assert compared >= 10
