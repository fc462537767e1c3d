"""A hold: why a document stopped, which queue works it, in words for the person who does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hub.rules.engine import Decision, RuleEngine


@dataclass(frozen=True, slots=True)
class Hold:
    code: str
    queue: str
    message: str


def holds_from(decisions: list[Decision], describe: Callable[[Decision], str]) -> list[Hold]:
    """The holds a ruleset decided (`hold(CODE, queue)` actions), each described by `describe`."""
    return [Hold(d.action.args[0], d.action.args[1], describe(d)) for d in decisions if d.action.name == "hold"]


def codes(holds: list[Hold]) -> list[str]:
    return list(dict.fromkeys(h.code for h in holds))


def waive(holds: list[Hold], waived: frozenset[str]) -> list[Hold]:
    """`holds` without those an operator waived (by code)."""
    return [h for h in holds if h.code not in waived] if waived else holds


def holds_recorded(rules: RuleEngine, ruleset: str, hold_codes: list[str], what: str) -> list[Hold]:
    """The holds of a document the ERP already holds (a rerun after a crash): queues from the ruleset."""
    return [Hold(code, rules.queue_for(ruleset, code) or "integration", f"{what} was recorded in the ERP with hold {code}")
            for code in hold_codes]
