"""Finding, resolving and caching partner mappings on disk.

`mappings/<PARTNER_ID>/<doctype>.yaml`, e.g. mappings/P-SUMMIT/850.yaml or mappings/P-METRO/order.yaml.

A partner with no file of its own for a document type every X12 partner sends unasked (its 997 and
999 acknowledgments, hub.partners.ACKNOWLEDGMENT_KINDS) is read with the base mapping of that kind,
`mappings/_base/x12-997.yaml`; a file of its own, or a version in the ledger (hub.live_config), wins.

`extends: <path relative to the mappings folder>` starts from another mapping (which may extend
another in turn). The partner's file is laid over it: mappings merge key by key (so a partner
adds or overrides single fields, table entries or reader options); a value field (an expression,
or a dict without `fields`) replaces the inherited one whole; `null` removes what is inherited.

A compiled mapping is cached per file and reused until one of the files it was built from changes
on disk (checked by modification time and size on every call: two `stat`s, no parsing; three for
a 997 or 999).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import yaml

from hub.config_text import read_config_text, yaml_error
from hub.errors import ConfigurationError
from hub.mapping.engine import Mapping, compile_mapping
from hub.partners import ACKNOWLEDGMENT_KINDS

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")

_cache: dict[tuple[str, str], tuple[Mapping, tuple]] = {}  # (mappings folder, file under it) -> compiled, stamps


def load_mapping(mappings_dir: str | Path, partner_id: str, doctype: str) -> Mapping:
    """The compiled mapping for a partner's document type; ConfigurationError when there is none
    or it is not valid."""
    for what, value in (("partner id", partner_id), ("document type", doctype)):
        if not isinstance(value, str) or not _NAME.fullmatch(value) or ".." in value:
            raise ConfigurationError(f"{what} {value!r} cannot name a mapping file")
    key = (str(mappings_dir), _mapping_file(Path(mappings_dir), partner_id, doctype))
    cached = _cache.get(key)
    if cached is not None and cached[1] == _stamps(stamp[0] for stamp in cached[1]):
        return cached[0]
    root = Path(mappings_dir).resolve()
    path = root / key[1]
    if not path.is_file():
        have = sorted(p.stem for p in (root / partner_id).glob("*.yaml"))
        raise ConfigurationError(
            f"partner {partner_id} has no mapping for document type {doctype!r}: {path} does not exist"
            f" (mappings for {partner_id}: {', '.join(have) or 'none'})"
        )
    spec, files = _resolve(root, path, [])
    name = " extends ".join(str(f.relative_to(root)) for f in files)
    mapping = compile_mapping(spec, name, _digest(spec))
    _cache[key] = (mapping, _stamps(files))
    return mapping


def _mapping_file(mappings_dir: Path, partner_id: str, doctype: str) -> str:
    """The file under the mappings folder that maps `doctype` for the partner: its own, else the
    base mapping of an acknowledgment every X12 partner sends (which may be missing too)."""
    own = f"{partner_id}/{doctype}.yaml"
    kind = f"x12-{doctype}"
    if kind in ACKNOWLEDGMENT_KINDS and not (mappings_dir / own).is_file():
        return f"_base/{kind}.yaml"
    return own


def _stamps(paths) -> tuple:
    stamps = []
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            return ()
        stamps.append((path, stat.st_mtime_ns, stat.st_size))
    return tuple(stamps)


def mapping_from_text(mappings_dir: str | Path, partner_id: str, doctype: str, text: str | bytes, label: str) -> Mapping:
    """Compile a mapping given as text (a version sent through the API or `hub mappings create`);
    its `extends` is resolved under the mappings folder like a file's. ConfigurationError says what
    is wrong and where."""
    spec = read_config_text(text, f"the mapping for {partner_id} {doctype}")
    if not isinstance(spec, dict):
        raise ConfigurationError(f"the mapping for {partner_id} {doctype} must be a YAML mapping (document:, fields: ...)")
    root = Path(mappings_dir).resolve()
    spec, files = _extend(root, spec, label, [])
    name = " extends ".join([label] + [str(f.relative_to(root)) for f in files])
    return compile_mapping(spec, name, _digest(spec))


def mapping_file_text(mappings_dir: str | Path, partner_id: str, doctype: str) -> str | None:
    """The text of a partner's mapping file, or None when there is none."""
    path = Path(mappings_dir) / partner_id / f"{doctype}.yaml"
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _digest(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()


def _resolve(root: Path, path: Path, chain: list[Path]) -> tuple[dict[str, Any], list[Path]]:
    """The mapping at `path` with its `extends` chain merged in, and the files it was built from."""
    if path in chain:
        raise ConfigurationError(f"mapping {path} extends itself: {' -> '.join(map(str, chain + [path]))}")
    spec, files = _extend(root, _read(path), str(path), chain + [path])
    return spec, [path] + files


def _extend(root: Path, spec: dict[str, Any], where: str, chain: list[Path]) -> tuple[dict[str, Any], list[Path]]:
    """`spec` laid over the mapping it `extends` (if any), and the files that came from."""
    base_name = spec.pop("extends", None)
    if base_name is None:
        return spec, []
    base = (root / str(base_name)).resolve()
    if not base.is_relative_to(root) or not base.is_file():
        raise ConfigurationError(f"mapping {where}: extends {base_name!r}, which is not a mapping file under {root}")
    base_spec, files = _resolve(root, base, chain)
    return _merge(base_spec, spec, in_fields=False), files


def _read(path: Path) -> dict[str, Any]:
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"mapping {path} is not valid YAML{yaml_error(exc)}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"mapping {path} cannot be read: {exc}") from exc
    if not isinstance(spec, dict):
        raise ConfigurationError(f"mapping {path} must be a YAML mapping (document:, fields: ...)")
    return spec


def _merge(base: dict, override: dict, in_fields: bool) -> dict:
    merged = dict(base)
    for key, value in override.items():
        inherited = merged.get(key)
        if value is None:
            merged.pop(key, None)
        elif isinstance(inherited, dict) and isinstance(value, dict) and not (in_fields and "fields" not in value):
            merged[key] = _merge(inherited, value, in_fields=key == "fields")
        else:
            merged[key] = value
    return merged
