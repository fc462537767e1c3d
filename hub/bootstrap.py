"""Create or upgrade the ledger and ERP schemas, record the rulesets, load a seed folder."""

from __future__ import annotations

from pathlib import Path

from hub.config import PROJECT_ROOT, Settings
from hub.errors import HubError

DEMO_SEED = PROJECT_ROOT / "samples" / "scenario"


def initialise(settings: Settings, seed: Path | None) -> list[str]:
    """Create/upgrade both schemas; load the seed. Returns lines saying what was done."""
    from adapters.erp.seed import create_schema, load_seed
    from hub.db import make_engine
    from hub.ledger import schema
    from hub.ledger.store import Ledger
    from hub.partners import load_partner_file
    from hub.rules.engine import load_ruleset_dir
    from hub.rules.versions import record_rulesets

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ledger_engine = make_engine(settings.ledger_url)
    erp_engine = make_engine(settings.erp_url)
    schema.upgrade(ledger_engine)
    create_schema(erp_engine)
    done = [f"ledger schema up to date ({ledger_engine.url.render_as_string()})", f"ERP schema ready ({erp_engine.url.render_as_string()})"]
    active = record_rulesets(ledger_engine, load_ruleset_dir(settings.rules_dir))
    done.append("rulesets active: " + ", ".join(active))
    if seed is not None:
        if not (seed / "erp").is_dir() or not (seed / "partners.yaml").is_file():
            raise HubError(f"{seed} is not a seed folder: it needs erp/*.csv and partners.yaml")
        loaded = load_seed(erp_engine, seed / "erp")
        directory = load_partner_file(seed / "partners.yaml")
        added = Ledger(ledger_engine).save_partners(directory)
        done.append(f"ERP seed loaded from {seed / 'erp'}: " + (", ".join(f"{t} {n}" for t, n in loaded.items()) if loaded else "tables already had data"))
        kept = len(directory.partners) - len(added)
        done.append(f"{len(added)} partners added from {seed / 'partners.yaml'}"
                    + (f"; {kept} already in the ledger left as they are" if kept else ""))
    return done
