"""JSON orders: a file (or webhook body) holding one order object, or an array of order objects.

Options (the `source:` block of the partner's mapping): `max_bytes` (10 MB by default) and
`max_depth` (64 nested objects/arrays by default), both checked without trusting the input: the
size before parsing, the depth by the parser's own recursion guard and then by an iterative walk.

Each order object is its own document and its own tree, as sent; numbers with a fraction are
read as Decimal so that money stays exact. JSON carries no line numbers inside a value, so
problems found by the mapping are located by field only. An array element that is not an object
is a rejected document of its own; the other orders in the array still go through.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from adapters.limits import size_problem
from hub.errors import Location, Problem
from hub.ports import ParsedDocument, ReadResult

_BOM = b"\xef\xbb\xbf"
MAX_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 64


class JsonReader:
    name = "json"

    def sniff(self, raw: bytes) -> bool:
        return raw[:1024].removeprefix(_BOM).lstrip()[:1] in (b"{", b"[")

    def read(self, raw: bytes, options: dict[str, Any] | None = None) -> ReadResult:
        options = options or {}
        max_bytes, max_depth = options.get("max_bytes", MAX_BYTES), options.get("max_depth", MAX_DEPTH)
        result = ReadResult(format=self.name)
        if too_big := size_problem(raw, max_bytes, "JSON"):
            result.problems.append(too_big)
            return result
        data = _parse(raw, max_depth, result.problems)
        if result.problems:
            return result
        if isinstance(data, dict):
            result.documents.append(ParsedDocument(index=1, doc_type="order", tree=data))
        elif isinstance(data, list) and data:
            for index, item in enumerate(data, 1):
                document = ParsedDocument(index=index, doc_type="order", tree=item if isinstance(item, dict) else {})
                if not isinstance(item, dict):
                    message = f"array element {index} is {_kind(item)}, expected an order object"
                    document.problems.append(Problem("json:shape", message, Location(element=f"[{index}]")))
                result.documents.append(document)
        else:
            message = f"the file holds {_kind(data)}, expected an order object or a non-empty array of them"
            result.problems.append(Problem("json:shape", message))
        return result


def _parse(raw: bytes, max_depth: int, problems: list[Problem]) -> Any:
    too_deep = f"the JSON nests objects and arrays more than {max_depth} levels deep"
    try:
        data = json.loads(raw.decode("utf-8-sig"), parse_float=Decimal, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        message = f"the file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        problems.append(Problem("json:syntax", message, Location(line=exc.lineno, column=exc.colno)))
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        message = (
            f"the file is not UTF-8 text: byte 0x{raw[exc.start]:02X} at byte offset {exc.start}"
            f" (line {line}) is not valid UTF-8"
        )
        problems.append(Problem("json:encoding", message, Location(line=line)))
    except RecursionError:
        problems.append(Problem("json:depth", too_deep))
    except ValueError as exc:  # NaN / Infinity, an integer of thousands of digits
        problems.append(Problem("json:syntax", f"the file is not usable JSON: {exc}"))
    else:
        if _deeper_than(data, max_depth):
            problems.append(Problem("json:depth", too_deep))
        return data
    return None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _deeper_than(data: Any, limit: int) -> bool:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        for child in children:
            if isinstance(child, (dict, list)):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def _kind(value: Any) -> str:
    kinds = {dict: "an object", list: "an array", str: "a string", bool: "true or false", type(None): "null"}
    return kinds.get(type(value), "a number")
