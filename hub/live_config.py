"""The mappings and rulesets a worker runs: the versions active in the ledger.

They are reloaded when the config epoch moves (an activation or rollback bumps it; a worker
checks it once per file, one small read), so a version activated through the API is used from
the next file on, in every process, without a restart. Files under rules/ and mappings/ fill in
what the ledger has no version of.

`view(...)` is what one run uses: the active set, or the active set with one candidate version
put in place of its active one (testing and dry-running a version before it is activated).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import Engine

from hub.config import Settings
from hub.errors import ConfigurationError
from hub.mapping import Mapping, load_mapping
from hub.mapping.versions import mapping_versions, validate_mapping
from hub.rules.engine import RuleEngine, Ruleset, load_ruleset_dir, parse_ruleset
from hub.rules.versions import ruleset_versions
from hub.versions import config_epoch

log = logging.getLogger("hub.config")


@dataclass(slots=True)
class ConfigView:
    """The rules and mappings of one run."""

    rules: RuleEngine
    live: LiveConfig
    mappings: dict[tuple[str, str], Mapping] = field(default_factory=dict)

    def mapping(self, partner_id: str, doc_type: str) -> Mapping:
        found = self.mappings.get((partner_id, doc_type))
        return found if found is not None else self.live.mapping(partner_id, doc_type)


class LiveConfig:
    def __init__(self, engine: Engine, settings: Settings):
        self._engine, self._settings = engine, settings
        self.rules = RuleEngine(load_ruleset_dir(settings.rules_dir))
        self._mappings: dict[tuple[str, str], Mapping | ConfigurationError] = {}
        self._epoch: int | None = None
        self.refresh()

    def refresh(self) -> None:
        """Load the active versions if an activation happened since the last look."""
        with self._engine.connect() as conn:
            epoch = config_epoch(conn)
        if epoch == self._epoch:
            return
        for row in ruleset_versions(self._engine).active():
            self.rules.activate(parse_ruleset(row["body"], f"ruleset {row['name']}@{row['version']}"))
        mappings: dict[tuple[str, str], Mapping | ConfigurationError] = {}
        for row in mapping_versions(self._engine).active():
            key = (row["partner_id"], row["doc_type"])
            try:
                mappings[key] = validate_mapping(self._settings.mappings_dir, *key, row["body"], row["version"])
            except ConfigurationError as exc:  # e.g. the base file it extends changed since
                log.error("active mapping %s/%s v%s no longer compiles: %s", *key, row["version"], exc)
                mappings[key] = exc
        self._mappings = mappings
        self._epoch = epoch

    def mapping(self, partner_id: str, doc_type: str) -> Mapping:
        found = self._mappings.get((partner_id, doc_type))
        if isinstance(found, ConfigurationError):
            raise found
        return found if found is not None else load_mapping(self._settings.mappings_dir, partner_id, doc_type)

    def view(self, ruleset: Ruleset | None = None, mapping: tuple[str, str, Mapping] | None = None) -> ConfigView:
        """The active set, with `ruleset` or `mapping` (partner, doc type, compiled) in place of its active version."""
        rules = self.rules.variant([ruleset]) if ruleset is not None else self.rules
        return ConfigView(rules, self, {(mapping[0], mapping[1]): mapping[2]} if mapping else {})
