"""cXML OrderRequest documents, read safely.

XML can make a parser do harm: entity expansion (billion laughs), external entities that read
local files or the network (XXE), DTDs fetched from the internet. This reader never expands or
fetches anything: the parser is configured not to resolve entities, load DTDs or use the network,
and a document that declares entities in its DOCTYPE is rejected outright (the hub has no use for
them, and refusing them is simpler to trust than expanding them carefully). The standard
`<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/.../cXML.dtd">` is accepted and its DTD is not read.
Size is checked before parsing (`max_bytes`, 10 MB by default); depth after it (`max_depth`,
100 by default; libxml2 itself stops at 256 without huge_tree, so building the tree recursively
stays far from Python's recursion limit).

The tree: each element is a dict {"@attribute": value (local names: xml:lang is "@lang"), "#text":
its stripped text when it has any, "<child local name>": [child dicts], "_line": its line}; the
root <cXML> element is the tree. The sender is (domain, identity) of Header/From/Credential, which
the hub matches against partners.yaml `cxml_identity`. Only OrderRequest is supported.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from adapters.limits import size_problem
from hub.errors import Location, Problem
from hub.ports import ParsedDocument, ReadResult

_BOM = b"\xef\xbb\xbf"
MAX_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 100
_POSITION = re.compile(r", line \d+, column \d+$")


class _TooDeep(Exception):
    def __init__(self, line: int | None):
        self.line = line


class CxmlReader:
    name = "xml"

    def sniff(self, raw: bytes) -> bool:
        return raw[:1024].removeprefix(_BOM).lstrip()[:1] == b"<"

    def read(self, raw: bytes, options: dict[str, Any] | None = None) -> ReadResult:
        options = options or {}
        max_bytes, max_depth = options.get("max_bytes", MAX_BYTES), options.get("max_depth", MAX_DEPTH)
        result = ReadResult(format=self.name)
        if too_big := size_problem(raw, max_bytes, "XML"):
            result.problems.append(too_big)
            return result
        root = _parse(raw, result.problems)
        if root is None:
            return result
        try:
            tree = _element(root, 1, max_depth)
        except _TooDeep as exc:
            message = f"the XML nests elements more than {max_depth} levels deep (line {exc.line})"
            result.problems.append(Problem("xml:depth", message, Location(line=exc.line)))
            return result
        if _check_order_request(root, tree, result.problems):
            result.sender = _sender(tree)
            control = {"payload_id": tree["@payloadID"]} if "@payloadID" in tree else {}
            result.documents.append(ParsedDocument(index=1, doc_type="order", tree=tree, control=control))
        return result


def _parse(raw: bytes, problems: list[Problem]) -> etree._Element | None:
    declared = raw.find(b"<!ENTITY")
    if declared >= 0:
        problems.append(_entities_problem(raw.count(b"\n", 0, declared) + 1))
        return None
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=False, remove_comments=True, remove_pis=True,
    )
    try:
        root = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        message = f"the file is not well-formed XML: {_reason(exc)} (line {line}, column {column})"
        problems.append(Problem("xml:syntax", message, Location(line=line or None, column=column or None)))
        return None
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        # declared in an encoding the byte scan above cannot see (UTF-16, UTF-32)
        problems.append(_entities_problem(None))
        return None
    return root


def _entities_problem(line: int | None) -> Problem:
    where = f" (line {line})" if line else ""
    message = f"the document declares entities in its DOCTYPE, which the hub never expands{where}; send it without them"
    return Problem("xml:entities", message, Location(line=line))


def _reason(exc: etree.XMLSyntaxError) -> str:
    """libxml2's message for the first error, without the position lxml appends to it."""
    return _POSITION.sub("", str(exc.msg or exc)).strip()


def _element(element: etree._Element, depth: int, max_depth: int) -> dict[str, Any]:
    if depth > max_depth:
        raise _TooDeep(element.sourceline)
    node: dict[str, Any] = {"_line": element.sourceline}
    for name, value in element.attrib.items():
        node["@" + _local(name)] = value
    text = (element.text or "").strip()
    if text:
        node["#text"] = text
    for child in element:
        if isinstance(child.tag, str):  # skip entity references and other non-elements
            node.setdefault(_local(child.tag), []).append(_element(child, depth + 1, max_depth))
    return node


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _check_order_request(root: etree._Element, tree: dict[str, Any], problems: list[Problem]) -> bool:
    name = _local(root.tag)
    if name != "cXML":
        message = f"the root element is <{name}>; the hub reads cXML documents (<cXML>)"
        problems.append(Problem("xml:type", message, Location(line=root.sourceline)))
        return False
    request = (tree.get("Request") or [None])[0]
    if request is None:
        kinds = [k for k in ("Response", "Message") if k in tree] or ["no Request"]
        message = f"the cXML document carries {kinds[0]}; the hub only accepts an OrderRequest"
        problems.append(Problem("xml:type", message, Location(line=root.sourceline)))
        return False
    if "OrderRequest" not in request:
        kinds = [k for k in request if not k.startswith(("@", "#", "_"))] or ["nothing"]
        message = f"the cXML request is {kinds[0]}; the hub only accepts OrderRequest"
        problems.append(Problem("xml:type", message, Location(line=request["_line"])))
        return False
    return True


def _sender(tree: dict[str, Any]) -> tuple[str, str] | None:
    try:
        credential = tree["Header"][0]["From"][0]["Credential"][0]
        return credential["@domain"], credential["Identity"][0]["#text"]
    except (KeyError, IndexError):
        return None
