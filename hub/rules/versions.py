"""Ruleset versions: recorded from rules/*.yaml by `hub init`, made through the API or CLI.

A version sent by a person is checked before it is stored: its shape and actions statically
(only whitelisted actions, hub.rules.actions), then loaded and evaluated in a throwaway process
with a time limit (hub.rules.engine.trial_load), so a ruleset that would hang durable-rules hangs
nothing that matters. The server numbers versions; a `version` in the body is ignored.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from hub.auth import Actor
from hub.config_text import read_config_text
from hub.db import writer
from hub.errors import Conflict, ConfigurationError
from hub.ledger import tables as t
from hub.rules.engine import Ruleset, parse_ruleset, trial_load
from hub.versions import RULESETS, Versions

TRIAL_FACTS = [{"kind": "order", "id": "o"}, {"kind": "line", "id": "l"}]


def ruleset_versions(engine: Engine) -> Versions:
    return Versions(engine, RULESETS)


def validate_ruleset(name: str, body: Any, version: int) -> Ruleset:
    """The ruleset `body` (YAML/JSON text or an object) as version `version` of `name`; a
    ConfigurationError says what is wrong and where."""
    if isinstance(body, (str, bytes)):
        body = read_config_text(body, f"ruleset {name}")
    if not isinstance(body, dict):
        raise ConfigurationError(f"ruleset {name}: a ruleset is a mapping with `rules` (and optionally `name`)")
    if body.get("name", name) != name:
        raise ConfigurationError(f"the body names ruleset {body.get('name')!r}, but it is sent as a version of {name!r}")
    ruleset = parse_ruleset({**body, "name": name, "version": version}, f"ruleset {name}")
    problems = trial_load(ruleset, TRIAL_FACTS)
    if problems:
        raise ConfigurationError("; ".join(problems))
    return ruleset


def create_ruleset_version(engine: Engine, name: str, body: Any, actor: Actor) -> int:
    """Validate and store a new version of ruleset `name` (not active yet); its number."""
    versions = ruleset_versions(engine)
    version = versions.next_version({"name": name})
    ruleset = validate_ruleset(name, body, version)
    try:
        with writer(engine).begin() as conn:
            return versions.add(conn, {"name": name}, ruleset.body(), ruleset.sha256, actor, version=version)
    except IntegrityError:
        raise Conflict(f"version {version} of ruleset {name} was stored by someone else a moment ago; send it again") from None


def record_rulesets(engine: Engine, rulesets: list[Ruleset]) -> list[str]:
    """Record the rules/ files' versions (`hub init`). A file version not stored yet is stored, and
    made active when its name has no active version or a lower one (a release that ships a newer
    file wins; a version activated through the API stays active over older files). A stored
    version whose body differs from the file is an error: the file needs a new version number."""
    versions = ruleset_versions(engine)
    table = t.ruleset_versions.c
    notes = []
    with writer(engine).begin() as conn:
        for ruleset in rulesets:
            key = {"name": ruleset.name}
            stored = conn.execute(select(table.sha256).where(table.name == ruleset.name, table.version == ruleset.version)).scalar()
            if stored is not None and stored != ruleset.sha256:
                raise ConfigurationError(f"rules file {ruleset.name} version {ruleset.version} differs from the stored version "
                                         f"{ruleset.version}; give the file a new version number")
            if stored is None:
                versions.add(conn, key, ruleset.body(), ruleset.sha256, None, version=ruleset.version)
            active = conn.execute(select(table.version).where(table.name == ruleset.name, table.active.is_(True))).scalar()
            if active is None or active < ruleset.version:
                versions.activate_in(conn, key, ruleset.version, None)
                active = ruleset.version
            notes.append(f"{ruleset.name}@{active}")
    return notes
