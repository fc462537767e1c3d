"""The mapping engine: a partner's mapping (data) turns a generic tree into a canonical document.

A mapping is YAML, one per partner and document type (`mappings/<PARTNER_ID>/<doctype>.yaml`):

    extends: _base/x12-850.yaml     # optional; path relative to the mappings folder (see loader)
    document: purchase_order        # the canonical model to produce (hub.canonical.DOCUMENT_MODELS)
    source: {group_by: order_number} # options handed to the format reader (CSV columns, size limits)
    fields:                         # target field of the model -> how to get its value
      po_number: BEG[0].BEG03                                    # a JMESPath expression
      order_date: {expr: "BEG[0].BEG05", transform: date, format: "%Y%m%d"}
      purpose: {expr: "BEG[0].BEG01", optional: true}            # absent -> the model's default
      currency: {expr: "CUR[0].CUR02", default: USD}             # absent -> this value
      customer_account: {value: C400}                            # a constant
      references:                   # a list field: one object per element of `each`
        each: REF
        optional: true              # an empty list is fine (lists are required by default)
        fields: {qualifier: REF01, value: REF02}                 # evaluated against each element
      lines:
        each: PO1_LOOP
        fields:
          line_no: {expr: "PO1[0].PO101", transform: int}        # or {position: true}: 1, 2, 3 ...
          item: {expr: "PO1[0].[PO106,PO107,PO108,PO109]", transform: qualified_ids, table: ids}
          # an object field can also be built field by field, from the same context:
          # item: {fields: {vendor_part: sku}}
    tables:                         # cross-reference tables for `lookup` and `qualified_ids`
      ids: {BP: buyer_part, VP: vendor_part}

A value field is a string (the expression) or a dict with exactly one of `expr`, `value`,
`position`, and optionally `transform` (with that transform's options, see transforms.py),
`optional: true` or `default: <final value>`. A value is missing when the expression gives null,
"" or []; a missing required value is a problem. Targets are checked against the canonical model
when the mapping is compiled, as are expressions (compiled once) and transform options: a mapping
that does not compile is a ConfigurationError naming the file and the field.

`MappingEngine().map(parsed, mapping, source)` collects every problem in the document, each
located at the target field ("lines[2].quantity", list positions 1-based) and at the line of the
nearest tree dict that carries a "_line"; then the model validates the result, and its errors
become problems too.

Speed: expressions that are plain paths (fields, indexes, a final multi-select list: the common
case) run as precompiled Python lookups with JMESPath's semantics; any other expression runs on
one shared JMESPath interpreter. Reading JMESPath's parsed tree is reading an implementation
detail: a shape the fast path does not know falls back to the interpreter, and a test holds the
fast path to the interpreter's results. Nothing is copied from the tree.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, get_args

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.visitor import TreeInterpreter
from pydantic import BaseModel, ValidationError

from hub.canonical import DOCUMENT_MODELS, CanonicalDocument, Source
from hub.errors import ConfigurationError, Location, Problem
from hub.mapping import transforms
from hub.ports import ParsedDocument

Getter = Callable[[Any], Any]

_INTERPRETER = TreeInterpreter()
_ENGINE_SET = frozenset({"source", "doc_type"})  # targets the engine fills, never a mapping
_VALUE_KEYS = {"expr", "value", "position", "transform", "optional", "default"}


# ---------------------------------------------------------------------------------------------
# Compiled fields


@dataclass(frozen=True, slots=True)
class _Value:
    target: str
    get: Getter
    parent: Getter | None  # the dict holding the value, for the problem's line
    expr: str  # for messages
    transform: transforms.Transform | None
    optional: bool
    default: Any
    has_default: bool

    def apply(self, ctx: Any, position: int, out: dict, prefix: str, problems: list[Problem]) -> None:
        try:
            raw = self.get(ctx)
        except JMESPathError as exc:
            problems.append(self._problem(ctx, prefix, "map:invalid", f"{self.target}: {self.expr} failed: {exc}"))
            return
        if raw is None or (not raw and (raw == "" or raw == [])):  # 0 is a value
            if self.has_default:
                out[self.target] = self.default
            elif not self.optional:
                message = f"{self.target} is missing: nothing found at {self.expr}"
                problems.append(self._problem(ctx, prefix, "map:missing", message))
            return
        if self.transform is None:
            out[self.target] = raw
            return
        try:
            out[self.target] = self.transform(raw)
        except transforms.ValueRejected as exc:
            message = f"{self.target} {_show(raw)} is not {exc.expected} (read from {self.expr})"
            problems.append(self._problem(ctx, prefix, "map:invalid", message))

    def _problem(self, ctx: Any, prefix: str, code: str, message: str) -> Problem:
        holder = ctx
        if self.parent is not None:
            try:
                holder = self.parent(ctx)
            except JMESPathError:
                pass
        line = _line(holder) or _line(ctx)
        return Problem(code, message, Location(element=prefix + self.target, line=line))


@dataclass(frozen=True, slots=True)
class _Position:
    """The 1-based position of the enclosing list element (a line number a format lacks)."""

    target: str

    def apply(self, ctx: Any, position: int, out: dict, prefix: str, problems: list[Problem]) -> None:
        out[self.target] = position


@dataclass(frozen=True, slots=True)
class _List:
    target: str
    get: Getter
    expr: str
    fields: tuple
    optional: bool

    def apply(self, ctx: Any, position: int, out: dict, prefix: str, problems: list[Problem]) -> None:
        where = Location(element=prefix + self.target, line=_line(ctx))
        try:
            items = self.get(ctx)
        except JMESPathError as exc:
            problems.append(Problem("map:invalid", f"{self.target}: {self.expr} failed: {exc}", where))
            items = []
        if items is None or items == []:
            out[self.target] = []
            if not self.optional:
                problems.append(Problem("map:missing", f"{self.target}: none found at {self.expr}", where))
            return
        if not isinstance(items, list):
            out[self.target] = []
            message = f"{self.target}: {self.expr} gave {_show(items)}, expected a list"
            problems.append(Problem("map:invalid", message, where))
            return
        base = f"{prefix}{self.target}["
        out[self.target] = [_fill(self.fields, item, i, f"{base}{i}].", problems) for i, item in enumerate(items, 1)]


@dataclass(frozen=True, slots=True)
class _Object:
    target: str
    fields: tuple

    def apply(self, ctx: Any, position: int, out: dict, prefix: str, problems: list[Problem]) -> None:
        out[self.target] = _fill(self.fields, ctx, position, f"{prefix}{self.target}.", problems)


def _fill(fields: tuple, ctx: Any, position: int, prefix: str, problems: list[Problem]) -> dict:
    out: dict = {}
    for field in fields:
        field.apply(ctx, position, out, prefix, problems)
    return out


def _line(value: Any) -> int | None:
    return value.get("_line") if isinstance(value, dict) else None


def _show(value: Any, limit: int = 60) -> str:
    """A value as an analyst reads it in a message: JSON, absent (null) list entries left out."""
    if isinstance(value, list):
        value = [v for v in value if v is not None]
    return _brief(json.dumps(value, ensure_ascii=False, default=str), limit)


def _brief(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------------------------
# Expressions


def _path_steps(node: dict) -> list | None:
    """A plain path as steps, or None: ("f", key) a field, ("i", n) an index, ("k", keys) a
    multi-select list of fields, ("m", getters) a multi-select list of paths, ("q", predicate) a
    filter with nothing projected after it (a[?b=='x']), as the last step or before a pipe."""
    kind, children = node["type"], node.get("children", [])
    if kind in ("identity", "current"):
        return []
    if kind == "field":
        return [("f", node["value"])]
    if kind == "index_expression" and children[1]["type"] == "index":
        left = _path_steps(children[0])
        return None if left is None else left + [("i", children[1]["value"])]
    if kind == "subexpression":  # a.b.c is one subexpression with three children
        parts = [_path_steps(child) for child in children]
        return None if None in parts else [step for part in parts for step in part]
    if kind == "multi_select_list":
        paths = [_path_steps(child) for child in children]
        if None in paths:
            return None
        if all(len(p) == 1 and p[0][0] == "f" for p in paths):  # [PO106, PO107, ...]: the common case
            return [("k", tuple(p[0][1] for p in paths))]
        return [("m", tuple(_path_getter(p) for p in paths))]
    if kind == "pipe":  # a | b: b on the whole of a's result
        parts = [_path_steps(child) for child in children]
        return None if None in parts else parts[0] + parts[1]
    if kind == "filter_projection" and children[1]["type"] == "identity":  # a[?HL[0].HL03=='O']
        left, keep = _path_steps(children[0]), _predicate(children[2])
        return None if left is None or keep is None else left + [("q", keep)]
    return None


def _predicate(node: dict) -> Callable[[Any], bool] | None:
    """A filter condition of ==, != between paths and literals, or a path's truth, joined by || and
    &&; else None."""
    kind, children = node["type"], node.get("children", [])
    if kind == "comparator" and node["value"] in ("eq", "ne"):
        left, right = (_operand(child) for child in children)
        if left is None or right is None:
            return None
        compare = TreeInterpreter.COMPARATOR_FUNC[node["value"]]
        return lambda value: compare(left(value), right(value))
    if kind in ("or_expression", "and_expression"):
        first, second = (_predicate(child) for child in children)
        if first is None or second is None:
            return None
        if kind == "or_expression":
            return lambda value: first(value) or second(value)
        return lambda value: first(value) and second(value)
    steps = _path_steps(node)  # a[?b]: b is true in JMESPath's sense (0 is true; null, "", [], {} are not)
    if steps is None:
        return None
    get = _path_getter(steps)
    return lambda value: _truthy(get(value))


def _truthy(value: Any) -> bool:
    return value is not None and value is not False and value != "" and value != [] and value != {}


def _operand(node: dict) -> Getter | None:
    if node["type"] == "literal":
        constant = node["value"]
        return lambda value: constant
    steps = _path_steps(node)
    return None if steps is None else _path_getter(steps)


def _path_getter(steps: list) -> Getter:
    """Follow `steps` as JMESPath would: a missing key, a wrong type or a bad index gives None."""
    if len(steps) == 1 and steps[0][0] == "f":
        key = steps[0][1]
        return lambda value: value.get(key) if isinstance(value, dict) else None

    def get(value: Any) -> Any:
        for kind, arg in steps:
            if value is None:
                return None
            if kind == "f":
                value = value.get(arg) if isinstance(value, dict) else None
            elif kind == "i":
                value = value[arg] if isinstance(value, list) and -len(value) <= arg < len(value) else None
            elif kind == "k":
                value = [value.get(key) for key in arg] if isinstance(value, dict) else [None] * len(arg)
            elif kind == "q":
                value = [item for item in value if arg(item)] if isinstance(value, list) else None
            else:
                value = [sub(value) for sub in arg]
        return value

    return get


def _getter(node: dict) -> Getter:
    steps = _path_steps(node)
    return _path_getter(steps) if steps is not None else partial(_INTERPRETER.visit, node)


def _parent_node(node: dict) -> dict | None:
    """The expression giving the dict that holds the value: `PO1[0]` for `PO1[0].PO102`."""
    if node["type"] == "subexpression":
        *left, _ = node["children"]
        return left[0] if len(left) == 1 else {"type": "subexpression", "children": left}
    if node["type"] == "pipe":
        left, right = node["children"]
        inner = _parent_node(right)
        return left if inner is None else {"type": "pipe", "children": [left, inner]}
    return None


def _compile_expr(expr: Any, where: str, errors: list[str]) -> tuple[Getter, Getter | None] | None:
    if not isinstance(expr, str) or not expr.strip():
        errors.append(f"{where}: the expression must be a non-empty string, got {_show(expr)}")
        return None
    try:
        node = jmespath.compile(expr).parsed
    except JMESPathError as exc:
        detail = str(exc).splitlines()[0]
        errors.append(f"{where}: expression {expr!r} does not compile: {detail}")
        return None
    parent = _parent_node(node)
    return _getter(node), (None if parent is None else _getter(parent))


# ---------------------------------------------------------------------------------------------
# Compiling a mapping


@dataclass(frozen=True, slots=True)
class Mapping:
    """A compiled mapping, ready to map any number of documents."""

    name: str  # the file (and what it extends), for messages
    document: str  # key of hub.canonical.DOCUMENT_MODELS
    model: type[BaseModel]
    source: dict[str, Any]  # the reader's options
    fields: tuple
    digest: str = ""  # sha256 of the resolved YAML: which version of the mapping mapped a document


def compile_mapping(spec: dict[str, Any], name: str, digest: str = "") -> Mapping:
    """Compile a resolved mapping (after `extends`); ConfigurationError lists every mistake."""
    errors: list[str] = []
    unknown = set(spec) - {"document", "source", "fields", "tables"}
    if unknown:
        known = "document, source, fields, tables, extends"
        errors.append(f"unknown top-level key(s) {', '.join(sorted(unknown))} (known: {known})")
    document = spec.get("document")
    model = DOCUMENT_MODELS.get(document) if isinstance(document, str) else None
    if model is None:
        errors.append(f"document must be one of {', '.join(DOCUMENT_MODELS)}, got {_show(document)}")
    source = spec.get("source") or {}
    if not isinstance(source, dict):
        errors.append("source must be a mapping of reader options")
    tables = spec.get("tables") or {}
    if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
        errors.append("tables must map each table name to a mapping of code -> value")
        tables = {}
    fields: tuple = ()
    if not isinstance(spec.get("fields"), dict):
        errors.append("fields must map target fields to expressions")
    elif model is not None:
        fields = _compile_fields(spec["fields"], model, "", tables, errors)
    if errors:
        raise ConfigurationError(f"mapping {name} is not valid:\n  - " + "\n  - ".join(errors))
    return Mapping(name, document, model, dict(source), fields, digest)


def _compile_fields(specs: dict, model: type[BaseModel], path: str, tables: dict, errors: list[str]) -> tuple:
    compiled = []
    for target, spec in specs.items():
        where = f"field {path}{target}"
        info = model.model_fields.get(target)
        if info is None or target in _ENGINE_SET:
            known = ", ".join(f for f in model.model_fields if f not in _ENGINE_SET)
            errors.append(f"{where}: {model.__name__} has no field {target!r} to map (fields: {known})")
            continue
        if isinstance(spec, dict) and "fields" in spec:
            field = _compile_nested(target, spec, _submodel(info.annotation), where, f"{path}{target}.", tables, errors)
        else:
            field = _compile_value(target, spec, where, tables, errors)
        if field is not None:
            compiled.append(field)
    return tuple(compiled)


def _compile_nested(target, spec, submodel, where, path, tables, errors) -> _List | _Object | None:
    if submodel is None:
        errors.append(f"{where}: is a plain value, so it takes an expression, not fields:")
        return None
    allowed = {"fields", "each", "optional"} if "each" in spec else {"fields"}
    if set(spec) - allowed or not isinstance(spec["fields"], dict):
        errors.append(f"{where}: a nested field takes {', '.join(sorted(allowed))}; got {', '.join(sorted(spec))}")
        return None
    fields = _compile_fields(spec["fields"], submodel, path, tables, errors)
    if "each" not in spec:
        return _Object(target, fields)
    compiled = _compile_expr(spec["each"], f"{where} (each)", errors)
    if compiled is None:
        return None
    return _List(target, compiled[0], _brief(spec["each"]), fields, bool(spec.get("optional")))


def _compile_value(target: str, spec: Any, where: str, tables: dict, errors: list[str]) -> Any:
    if isinstance(spec, str):
        spec = {"expr": spec}
    if not isinstance(spec, dict):
        errors.append(f"{where}: expected an expression or a dict with expr/value/position, got {_show(spec)}")
        return None
    sources = [key for key in ("expr", "value", "position") if key in spec]
    if len(sources) != 1:
        errors.append(f"{where}: give exactly one of expr, value, position (got {', '.join(sources) or 'none'})")
        return None
    name = spec.get("transform")
    extra = set(spec) - _VALUE_KEYS - transforms.OPTIONS.get(name, set())
    if extra:
        errors.append(f"{where}: unknown option(s) {', '.join(sorted(extra))}")
        return None
    if "position" in spec:
        return _Position(target)
    transform = None
    if name is not None:
        try:
            transform = transforms.build(name, spec, tables)
        except ValueError as exc:
            errors.append(f"{where}: {exc}")
            return None
    if "value" in spec:
        value = spec["value"]
        getter, parent, expr = (lambda ctx: value), None, f"the constant {_show(value)}"
    else:
        compiled = _compile_expr(spec["expr"], where, errors)
        if compiled is None:
            return None
        (getter, parent), expr = compiled, _brief(spec["expr"])
    optional, default = bool(spec.get("optional")), spec.get("default")
    return _Value(target, getter, parent, expr, transform, optional, default, "default" in spec)


def _submodel(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds, directly or in a list / optional: OrderLine for list[OrderLine]."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        if (found := _submodel(arg)) is not None:
            return found
    return None


# ---------------------------------------------------------------------------------------------
# Mapping documents


class MappingEngine:
    """Maps parsed documents with compiled mappings. Holds no state: one instance serves all."""

    def map(
        self, parsed: ParsedDocument, mapping: Mapping, source: Source
    ) -> tuple[CanonicalDocument | None, list[Problem]]:
        """The canonical document, or None with every problem found (mapping and validation)."""
        problems: list[Problem] = []
        data = _fill(mapping.fields, parsed.tree, 0, "", problems)
        data["source"] = source
        try:
            document = mapping.model.model_validate(data)
        except ValidationError as exc:
            problems.extend(_validation_problems(exc, mapping.fields, parsed.tree, problems))
            return None, problems
        return (None, problems) if problems else (document, problems)


def _validation_problems(exc: ValidationError, fields: tuple, tree: Any, known: list[Problem]) -> list[Problem]:
    """The model's errors as problems, skipping fields the mapping already reported."""
    reported = {p.location.element for p in known}
    problems = []
    for error in exc.errors(include_url=False):
        element = _element(error["loc"])
        if element in reported or any(element.startswith(r + ".") or element.startswith(r + "[") for r in reported):
            continue
        if error["type"] == "missing":
            message = f"{element} is missing"
        else:
            message = f"{element} {_show(error.get('input'))} is not valid: {error['msg']}"
        where = Location(element=element, line=_line_at(error["loc"], fields, tree))
        problems.append(Problem("map:invalid", message, where))
    return problems


def _element(loc: tuple) -> str:
    """('lines', 1, 'quantity') -> 'lines[2].quantity' (positions 1-based, as in problems)."""
    text = ""
    for part in loc:
        text += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line_at(loc: tuple, fields: tuple, tree: Any) -> int | None:
    """The line of the tree element the mapping read for `loc` (re-evaluated: errors are rare)."""
    ctx, line = tree, _line(tree)
    parts = list(loc)
    while parts:
        field = next((f for f in fields if f.target == parts[0]), None)
        parts.pop(0)
        if isinstance(field, _List) and parts and isinstance(parts[0], int):
            items = field.get(ctx)
            index = parts.pop(0)
            if not isinstance(items, list) or index >= len(items):
                break
            ctx, fields = items[index], field.fields
            line = _line(ctx) or line
        elif isinstance(field, _Object):
            fields = field.fields
        else:
            break
    return line
