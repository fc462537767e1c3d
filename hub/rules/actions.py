"""The only things a rule can do. A rule's `run` names one of these with literal arguments,
e.g. `hold(PRICE_MISMATCH, pricing)`; nothing else resolves, so a ruleset edited through the
API can never run arbitrary code. Actions do not act: they record a decision that the hub
applies after the evaluation (which also keeps them from failing inside durable-rules, where
exceptions are swallowed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hub.errors import ConfigurationError

# action name -> allowed values per argument (None: any identifier)
WHITELIST: dict[str, tuple[tuple[str, ...] | None, ...]] = {
    "set_price": (("contract", "tier"),),
    "hold": (None, None),  # code, queue
    "allocate": (("default", "split", "first_full", "none"),),
    "backorder": (),
    "approve": (),
    "reject": (None,),  # code
    "route": (None,),  # queue
    "accept": (),  # explicit no-op: the fact was seen and nothing is to be done
}

_CALL = re.compile(r"^\s*([a-z_]+)\s*\((.*)\)\s*$")
_ARG = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    args: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.name}({', '.join(self.args)})"


def parse_action(text: str, where: str) -> Action:
    """Parse `name(arg, ...)`, refusing anything not on the whitelist."""
    match = _CALL.match(text) if isinstance(text, str) else None
    if not match:
        raise ConfigurationError(f"{where}: run must look like name(arg, ...), got {text!r}")
    name, raw_args = match.groups()
    if name not in WHITELIST:
        raise ConfigurationError(f"{where}: {name!r} is not an allowed action; allowed: {', '.join(sorted(WHITELIST))}")
    args = tuple(a.strip() for a in raw_args.split(",")) if raw_args.strip() else ()
    allowed = WHITELIST[name]
    if len(args) != len(allowed):
        raise ConfigurationError(f"{where}: {name} takes {len(allowed)} argument(s), got {len(args)}")
    for arg, choices in zip(args, allowed):
        if not _ARG.match(arg):
            raise ConfigurationError(f"{where}: argument {arg!r} of {name} must be a plain word")
        if choices is not None and arg not in choices:
            raise ConfigurationError(f"{where}: {name} argument must be one of {', '.join(choices)}, got {arg!r}")
    return Action(name, args)
