"""`hub token`, `hub rules`, `hub mappings`, `hub exceptions` and `hub reprocess` as a person runs them."""

from __future__ import annotations

import getpass
import json
from decimal import Decimal

from sqlalchemy import text

from tests.conftest import DOCUMENTS, ROOT, hub_command, rows


def test_a_token_is_shown_once_and_stored_only_as_a_hash(hub, settings):
    made = hub_command(settings, "token", "create", "--name", "alice", "--role", "operations")
    assert made.returncode == 0, made.stderr
    token = made.stdout.splitlines()[0]
    assert token.startswith("hub_") and "shown only this once" in made.stdout
    with hub.ledger.engine.connect() as conn:
        stored = conn.execute(text("SELECT * FROM api_tokens")).mappings().one()
    assert token not in json.dumps(dict(stored), default=str) and stored["role"] == "operations"
    listed = hub_command(settings, "token", "list")
    assert "alice" in listed.stdout and token not in listed.stdout
    assert hub_command(settings, "token", "create", "--name", "alice", "--role", "admin").returncode == 2  # the name is taken
    assert hub_command(settings, "token", "revoke", "alice").returncode == 0
    assert "revoked" in hub_command(settings, "token", "list").stdout


def test_rules_from_the_shell(hub, settings, tmp_path):
    hub.ingest_file(DOCUMENTS / "summit-850-price-mismatch.edi")
    lenient = tmp_path / "pricing.yaml"
    lenient.write_text((ROOT / "rules" / "pricing.yaml").read_text().replace("tier_deviation_pct: 1}", "tier_deviation_pct: 5}"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  r: {all: [{m: {kind: line}}], run: eval(x)}\n")
    refused = hub_command(settings, "rules", "create", "pricing", str(bad))
    assert refused.returncode == 2 and "'eval' is not an allowed action" in refused.stderr
    created = hub_command(settings, "rules", "create", "pricing", str(lenient))
    assert "stored as version 2" in created.stdout, created.stderr
    dry = hub_command(settings, "rules", "dry-run", "pricing", "2")
    assert "1 would change" in dry.stdout and "holds: ['PRICE_MISMATCH'] -> []" in dry.stdout, dry.stdout + dry.stderr
    assert "version 2 is active (was 1)" in hub_command(settings, "rules", "activate", "pricing", "2").stdout
    assert "rolled back to version 1 (was 2)" in hub_command(settings, "rules", "rollback", "pricing").stdout
    trail = rows(hub.ledger.engine.connect(), "SELECT actor, action FROM audit ORDER BY id")
    assert trail == [{"actor": f"cli:{getpass.getuser()}", "action": a} for a in ("ruleset.create", "ruleset.activate", "ruleset.rollback")]


def test_exceptions_from_the_shell(hub, settings, erp):
    hub.ingest_file(DOCUMENTS / "summit-850-price-mismatch.edi")
    listed = hub_command(settings, "exceptions", "list", "--queue", "pricing")
    assert "PRICE_MISMATCH" in listed.stdout and "SUM-PO-1002" in listed.stdout, listed.stderr
    exception_id = int(listed.stdout.split()[0].lstrip("#"))
    assert "assigned to dana" in hub_command(settings, "exceptions", "assign", str(exception_id), "dana").stdout
    wrong = hub_command(settings, "exceptions", "resolve", str(exception_id), "approve_invoice")
    assert wrong.returncode == 2 and "approve_invoice resolves" in wrong.stderr
    done = hub_command(settings, "exceptions", "resolve", str(exception_id), "override_price", "--price", "1=141.00", "--note", "agreed by phone")
    assert done.returncode == 0, done.stderr
    assert "resolved - price overridden by cli:" in done.stdout and ": answered as SO-" in done.stdout
    [line] = rows(erp, "SELECT unit_price FROM sales_order_lines l JOIN sales_orders o ON o.order_id = l.order_id "
                       "WHERE o.customer_po = 'SUM-PO-1002' AND l.line_no = 1")
    assert Decimal(str(line["unit_price"])) == Decimal("141.00")
    assert "no open exceptions" in hub_command(settings, "exceptions", "list").stdout
    again = hub_command(settings, "reprocess", "--partner", "P-SUMMIT", "--state", "held")
    assert again.returncode == 2 and "name documents" in again.stderr  # none is held any more


def test_partner_changes_from_the_shell_are_audited_without_secrets(hub, settings):
    assert hub_command(settings, "partner", "delivery", "P-SUMMIT", "--push", "https://summit.example/edi").returncode == 0
    rotated = hub_command(settings, "partner", "secret", "P-SUMMIT")
    secret = rotated.stdout.strip()
    assert rotated.returncode == 0 and secret.startswith("whsec_")
    with hub.ledger.engine.connect() as conn:
        trail = [dict(r) for r in conn.execute(text("SELECT actor, action, target, before, after FROM audit ORDER BY id")).mappings()]
    assert [(a["actor"], a["action"], a["target"]) for a in trail] == [
        (f"cli:{getpass.getuser()}", "partner.delivery", "partner:P-SUMMIT"), (f"cli:{getpass.getuser()}", "partner.webhook-secret", "partner:P-SUMMIT")]
    assert "https://summit.example/edi" in str(trail[0]["after"]) and secret not in json.dumps(trail, default=str)
