"""Reading a mapping or ruleset that a person sends (API body, CLI file) as YAML or JSON, safely.

YAML aliases are refused outright: a few hundred bytes of nested aliases ("billion laughs")
expand to gigabytes once anything walks the tree, and no mapping or ruleset needs them. Size and
nesting are bounded before the text is parsed into objects. Errors say where (line, column).
"""

from __future__ import annotations

from typing import Any

import yaml

from hub.errors import ConfigurationError

MAX_TEXT_BYTES = 256 * 1024  # the largest mapping we ship is under 8 KB
MAX_DEPTH = 32


def read_config_text(text: str | bytes, what: str) -> Any:
    """The object a YAML (or JSON, which is YAML) text describes; ConfigurationError saying what
    and where when it is too big, not YAML, or uses aliases."""
    if isinstance(text, bytes):
        if len(text) > MAX_TEXT_BYTES:
            raise ConfigurationError(f"{what} is {len(text):,} bytes; at most {MAX_TEXT_BYTES:,} are taken")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigurationError(f"{what} is not UTF-8 text (byte {exc.start + 1})") from None
    if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        raise ConfigurationError(f"{what} is over {MAX_TEXT_BYTES:,} bytes; at most {MAX_TEXT_BYTES:,} are taken")
    try:
        _check_events(text, what)
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{what} is not valid YAML or JSON{yaml_error(exc)}") from None


def yaml_error(exc: yaml.YAMLError) -> str:
    """Where a YAML error is and what it is: " at line 3 column 7: expected ..."."""
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
    return f"{where}: {getattr(exc, 'problem', None) or exc}"


def _check_events(text: str, what: str) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            mark = event.start_mark
            raise ConfigurationError(f"{what} uses a YAML anchor or alias at line {mark.line + 1} column {mark.column + 1};"
                                     " write the value out instead (aliases are refused: they can expand without bound)")
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                mark = event.start_mark
                raise ConfigurationError(f"{what} nests deeper than {MAX_DEPTH} levels at line {mark.line + 1}")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
