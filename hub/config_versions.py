"""The life cycle of mapping and ruleset versions, as the API and the CLI offer it.

    create    validate and store a new version (inactive); invalid ones are refused, saying where
    validate  the same checks without storing
    test      run a sample file through a version: the canonical documents, decisions and holds
    dry-run   run stored documents (by partner, type, date range) through the active version and
              through a candidate, and list what would change: state, holds, prices, allocation,
              mapped fields. Both runs post to a rehearsal of the ERP that rolls back, and write no
              ledger row, so nothing anywhere changes.
    activate / rollback (hub.versions)

A `Subject` is what differs between mappings and rulesets: the key, how a version is checked, and
how it is put in place of the active one for a run.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from hub.auth import Actor
from hub.document_run import DocumentRun
from hub.ledger import tables as t
from hub.live_config import ConfigView
from hub.mapping.versions import create_mapping_version, mapping_versions, validate_mapping
from hub.pipeline import Hub
from hub.rules.engine import parse_ruleset
from hub.timespan import within
from hub.rules.versions import create_ruleset_version, ruleset_versions, validate_ruleset
from hub.versions import Versions

MAX_DRY_RUN_DOCUMENTS = 500


class Subject:
    """A kind of configuration with versions; subclasses say how a version is checked and used."""

    noun = ""

    def versions(self, engine: Engine) -> Versions:
        """The version store (needs only the ledger: reading versions builds no pipeline)."""
        raise NotImplementedError

    def create(self, hub: Hub, key: dict[str, str], text: str | bytes, actor: Actor) -> int:
        """Validate and store a new version (inactive); its number."""
        raise NotImplementedError

    def validate(self, hub: Hub, key: dict[str, str], text: str | bytes) -> dict[str, Any]:
        """What the version would be (its checks passed); ConfigurationError otherwise."""
        raise NotImplementedError

    def view(self, hub: Hub, key: dict[str, str], version: int) -> ConfigView:
        """The active configuration with `version` in place of this key's active version."""
        raise NotImplementedError


class Mappings(Subject):
    noun = "mapping"

    def versions(self, engine: Engine) -> Versions:
        return mapping_versions(engine)

    def create(self, hub, key, text, actor) -> int:
        return create_mapping_version(hub.ledger.engine, hub.settings.mappings_dir, key["partner_id"], key["doc_type"], text, actor)

    def validate(self, hub, key, text) -> dict[str, Any]:
        version = self.versions(hub.ledger.engine).next_version(key)
        mapping = validate_mapping(hub.settings.mappings_dir, key["partner_id"], key["doc_type"], text, version)
        return {"valid": True, "version": version, "name": mapping.name, "document": mapping.document}

    def view(self, hub, key, version) -> ConfigView:
        body = self.versions(hub.ledger.engine).get(key, version)["body"]
        mapping = validate_mapping(hub.settings.mappings_dir, key["partner_id"], key["doc_type"], body, version)
        hub.config.refresh()
        return hub.config.view(mapping=(key["partner_id"], key["doc_type"], mapping))


class Rulesets(Subject):
    noun = "ruleset"

    def versions(self, engine: Engine) -> Versions:
        return ruleset_versions(engine)

    def create(self, hub, key, text, actor) -> int:
        return create_ruleset_version(hub.ledger.engine, key["name"], text, actor)

    def validate(self, hub, key, text) -> dict[str, Any]:
        version = self.versions(hub.ledger.engine).next_version(key)
        ruleset = validate_ruleset(key["name"], text, version)
        return {"valid": True, "version": version, "rules": list(ruleset.rules), "actions": {r: str(a) for r, a in ruleset.actions.items()}}

    def view(self, hub, key, version) -> ConfigView:
        body = self.versions(hub.ledger.engine).get(key, version)["body"]
        hub.config.refresh()
        return hub.config.view(ruleset=parse_ruleset(body, f"ruleset {key['name']}@{version}"))


MAPPING, RULESET = Mappings(), Rulesets()


def test_version(hub: Hub, subject: Subject, key: dict[str, str], version: int, raw: bytes, partner_id: str | None) -> dict[str, Any]:
    """A sample file run through `version`: per document, where it would end and why."""
    partner_id = key.get("partner_id") or partner_id
    runs = hub.rehearse_file(raw, partner_id, subject.view(hub, key, version))
    return {"version": version, "documents": [_without_fields(outcome(run)) | {"canonical": run.values.get("canonical"),
                                                               "decisions": run.values.get("decisions") or [],
                                                               "errors": run.errors} for run in runs]}


def dry_run(hub: Hub, subject: Subject, key: dict[str, str], version: int, partner: str | None = None,
            doc_type: str | None = None, received_from: datetime | date | None = None, received_to: datetime | date | None = None,
            limit: int = 100) -> dict[str, Any]:
    """Stored documents run through the active version and through `version`; what would change."""
    d = t.documents.c
    query = select(d.id, d.partner_id, d.doc_type, d.reference, d.state).order_by(d.id).limit(min(limit, MAX_DRY_RUN_DOCUMENTS))
    partner, doc_type = key.get("partner_id", partner), key.get("doc_type", doc_type)
    for column, value in ((d.partner_id, partner), (d.doc_type, doc_type)):
        if value:
            query = query.where(column == value)
    query = query.where(*within(d.created_at, received_from, received_to))
    query = query.where(d.canonical.is_not(None) | (d.state == "rejected"))
    with hub.ledger.engine.connect() as conn:
        stored = conn.execute(query).all()
    hub.config.refresh()
    active, candidate = hub.config.view(), subject.view(hub, key, version)
    results = []
    for row, (before, after) in zip(stored, hub.rehearse_documents([row.id for row in stored], [active, candidate])):
        now_, then = outcome(before), outcome(after)
        results.append({"document_id": row.id, "partner_id": row.partner_id, "doc_type": row.doc_type, "reference": row.reference,
                        "stored_state": row.state, "active": _without_fields(now_), "candidate": _without_fields(then),
                        "changes": changes(now_, then)})
    return {"version": version, "documents": len(results), "changed": sum(1 for r in results if r["changes"]), "results": results}


def outcome(run: DocumentRun) -> dict[str, Any]:
    """What a run came to, in the terms a dry-run compares."""
    details = [tr["detail"] or {} for tr in run.transitions]
    prices = next((dt["prices"] for dt in details if "prices" in dt), None)
    allocation = next((dt["allocation"] for dt in details if "allocation" in dt), None)
    return {"state": run.state, "holds": run.hold_codes, "total": run.values.get("total"), "prices": prices,
            "allocation": allocation, "fields": _flatten(run.values.get("canonical") or {})}


def _without_fields(found: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in found.items() if k != "fields"}


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Each difference: what (state, holds, total, prices, allocation, or a mapped field's path), before and after."""
    found = [{"what": what, "active": before[what], "candidate": after[what]}
             for what in ("state", "holds", "total", "prices", "allocation") if before[what] != after[what]]
    fields_before, fields_after = before["fields"], after["fields"]
    for path in sorted(set(fields_before) | set(fields_after)):
        if fields_before.get(path) != fields_after.get(path):
            found.append({"what": f"field {path}", "active": fields_before.get(path), "candidate": fields_after.get(path)})
    return found


def _flatten(value: Any, path: str = "") -> dict[str, Any]:
    """A canonical document as {"lines[1].quantity": 5, ...} (list positions 1-based); `source` left out."""
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, inner in value.items():
            if not (path == "" and key == "source"):
                flat.update(_flatten(inner, f"{path}.{key}" if path else key))
        return flat
    if isinstance(value, list):
        flat = {}
        for index, inner in enumerate(value, 1):
            flat.update(_flatten(inner, f"{path}[{index}]"))
        return flat
    return {path: str(value) if isinstance(value, Decimal) else value}
