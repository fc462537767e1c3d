"""Mapping versions: a partner's mapping for one document type, sent as YAML through the API or CLI.

The text is stored as sent (comments and all) once it compiles (hub.mapping.loader.
mapping_from_text: YAML read safely, `extends` resolved under the mappings folder, every target,
expression and transform checked). The first version sent for a partner's document type that has a
file under mappings/ records that file as version 1 (active, as it was in use), so rolling back
to it is possible. Until then the file is what runs.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from hub.auth import Actor
from hub.db import writer
from hub.errors import Conflict, ConfigurationError, NotFound
from hub.ledger import tables as t
from hub.mapping.engine import Mapping
from hub.mapping.loader import mapping_file_text, mapping_from_text
from hub.versions import MAPPINGS, Versions

_DOCTYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,15}")


def mapping_versions(engine: Engine) -> Versions:
    return Versions(engine, MAPPINGS)


def label(partner_id: str, doc_type: str, version: int) -> str:
    return f"{partner_id}/{doc_type} v{version}"


def validate_mapping(mappings_dir: Path, partner_id: str, doc_type: str, text: str | bytes, version: int) -> Mapping:
    if not _DOCTYPE.fullmatch(doc_type) or ".." in doc_type:
        raise ConfigurationError(f"document type {doc_type!r} is not a mapping name (e.g. 850, 810, order)")
    return mapping_from_text(mappings_dir, partner_id, doc_type, text, label(partner_id, doc_type, version))


def create_mapping_version(engine: Engine, mappings_dir: Path, partner_id: str, doc_type: str, text: str | bytes, actor: Actor) -> int:
    """Validate and store a new version (not active yet); its number."""
    with engine.connect() as conn:
        if conn.execute(select(t.partners.c.id).where(t.partners.c.id == partner_id)).first() is None:
            raise NotFound(f"no partner {partner_id}")
    text = text.decode("utf-8") if isinstance(text, bytes) else text
    versions = mapping_versions(engine)
    key = {"partner_id": partner_id, "doc_type": doc_type}
    version = versions.next_version(key)
    baseline = mapping_file_text(mappings_dir, partner_id, doc_type) if version == 1 else None
    if baseline is not None:
        version = 2  # the file is version 1
    validate_mapping(mappings_dir, partner_id, doc_type, text, version)
    try:
        with writer(engine).begin() as conn:
            if baseline is not None:
                versions.add(conn, key, baseline, _sha(baseline), None, active=True, version=1)
            return versions.add(conn, key, text, _sha(text), actor, version=version)
    except IntegrityError:
        raise Conflict(f"version {version} of {partner_id}/{doc_type} was stored by someone else a moment ago; send it again") from None


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
