"""`hub partner ...` and `hub documents`: what an analyst runs to onboard a partner and to see
what came in. Credentials are stored as hashes or encrypted, and never printed by `show`."""

from __future__ import annotations

import json

from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select

from hub.credentials import CredentialStore
from hub.ledger import tables as t
from tests.conftest import DOCUMENTS, hub_command


def stored(hub, kind: str) -> list[str]:
    c = t.partner_credentials.c
    with hub.ledger.engine.connect() as conn:
        return list(conn.execute(select(c.value).where(c.partner_id == "P-SUMMIT", c.kind == kind)).scalars())


def credentials(hub) -> CredentialStore:
    return CredentialStore.for_settings(hub.settings, hub.ledger.engine)


def test_password_is_stored_as_a_hash_and_checked(hub, settings):
    done = hub_command(settings, "partner", "password", "P-SUMMIT", "--stdin", stdin="correct horse battery\n")
    assert done.returncode == 0 and "SFTP password set for P-SUMMIT" in done.stdout, done.stderr
    [value] = stored(hub, "password")
    assert value.startswith("scrypt:") and "correct horse" not in value
    assert credentials(hub).verify_password("P-SUMMIT", "correct horse battery")
    assert not credentials(hub).verify_password("P-SUMMIT", "correct horse batterY")
    assert not credentials(hub).verify_password("P-LAKESIDE", "correct horse battery")

    short = hub_command(settings, "partner", "password", "P-SUMMIT", "--stdin", stdin="short\n")
    assert short.returncode == 2 and "use at least 12" in short.stderr
    assert credentials(hub).verify_password("P-SUMMIT", "correct horse battery")  # unchanged


def test_keys_are_added_by_fingerprint_listed_and_removed(hub, settings, tmp_path):
    public = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
    key_file = tmp_path / "summit.pub"
    key_file.write_text(f"{public} edi@summit\n")
    added = hub_command(settings, "partner", "key", "add", "P-SUMMIT", str(key_file))
    assert added.returncode == 0, added.stderr
    fingerprint = added.stdout.split()[-1]
    assert fingerprint.startswith("SHA256:") and len(fingerprint) == 50
    assert credentials(hub).authorized_keys("P-SUMMIT") == [public]

    shown = hub_command(settings, "partner", "show", "P-SUMMIT")
    assert f"SFTP key:        {fingerprint} edi@summit" in shown.stdout

    (tmp_path / "junk.pub").write_text("ssh-ed25519 not-base64!\n")
    junk = hub_command(settings, "partner", "key", "add", "P-SUMMIT", str(tmp_path / "junk.pub"))
    assert junk.returncode == 2 and "not an OpenSSH public key" in junk.stderr

    removed = hub_command(settings, "partner", "key", "remove", "P-SUMMIT", fingerprint)
    assert removed.returncode == 0 and credentials(hub).authorized_keys("P-SUMMIT") == []
    again = hub_command(settings, "partner", "key", "remove", "P-SUMMIT", fingerprint)
    assert again.returncode == 2 and "has no key" in again.stderr


def test_webhook_secret_is_printed_once_and_stored_encrypted(hub, settings):
    first = hub_command(settings, "partner", "secret", "P-CASCADE")
    assert first.returncode == 0 and "shown only now" in first.stderr
    secret = first.stdout.strip()
    assert secret.startswith("whsec_")
    assert credentials(hub).webhook_secret("P-CASCADE") == secret
    c = t.partner_credentials.c
    with hub.ledger.engine.connect() as conn:
        [value] = conn.execute(select(c.value).where(c.partner_id == "P-CASCADE", c.kind == "webhook-secret")).scalars()
    assert secret not in value and secret[6:] not in value

    rotated = hub_command(settings, "partner", "secret", "P-CASCADE").stdout.strip()
    assert rotated != secret and credentials(hub).webhook_secret("P-CASCADE") == rotated

    shown = hub_command(settings, "partner", "show", "P-CASCADE", "--json")
    assert rotated not in shown.stdout
    summary = json.loads(shown.stdout)
    assert summary["webhook_secret_set_at"] and summary["sftp_password_set_at"] is None and summary["sftp_keys"] == []


def test_delivery_is_set_per_partner_and_checked(hub, settings):
    plain = hub_command(settings, "partner", "delivery", "P-SUMMIT", "--push", "http://edi.summit.example/in")
    assert plain.returncode == 2 and "must be https://" in plain.stderr
    done = hub_command(settings, "partner", "delivery", "P-SUMMIT", "--push", "https://edi.summit.example/in", "--attempts", "5")
    assert done.returncode == 0 and "push to https://edi.summit.example/in, 5 attempts" in done.stdout
    delivery = hub.ledger.partner_directory().get("P-SUMMIT").delivery
    assert (delivery.method, delivery.url, delivery.attempts) == ("https", "https://edi.summit.example/in", 5)
    listing = hub_command(settings, "partner", "list")
    assert "P-SUMMIT" in listing.stdout and "push to https://edi.summit.example/in" in listing.stdout
    back = hub_command(settings, "partner", "delivery", "P-SUMMIT", "--pickup")
    assert back.returncode == 0 and hub.ledger.partner_directory().get("P-SUMMIT").delivery.method == "pickup"


def test_unknown_partner_is_named_with_the_known_ones(hub, settings):
    for args in (("show", "P-NOBODY"), ("secret", "P-NOBODY"), ("password", "P-NOBODY", "--stdin")):
        done = hub_command(settings, "partner", *args, stdin="long enough password\n")
        assert done.returncode == 2 and "no partner P-NOBODY; partners are: P-APEX" in done.stderr, done.stderr


def test_documents_lists_each_received_file_and_where_its_documents_stand(hub, settings):
    hub.ingest_file(DOCUMENTS / "summit-850-booked.edi")
    hub.ingest_file(DOCUMENTS / "summit-850-price-mismatch.edi")
    hub.ingest_file(DOCUMENTS / "summit-850-booked.edi", partner_id="P-SUMMIT")  # the same bytes again
    hub.ingest_file(DOCUMENTS / "pioneer-850-credit-hold.edi")
    listing = hub_command(settings, "documents", "--partner", "P-SUMMIT")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].startswith("#3 ") and "P-SUMMIT  cli  " in lines[0] and lines[0].endswith("duplicate")
    assert lines[1] == "    same as file #1; not processed again"
    assert "document 2: 850 SUM-PO-1002 -> held" in listing.stdout and "holds: PRICE_MISMATCH" in listing.stdout
    assert "document 1: 850 SUM-PO-1001 -> answered as SO-" in listing.stdout
    assert "P-PIONEER" not in listing.stdout

    held = [json.loads(line) for line in hub_command(settings, "documents", "--state", "held", "--json").stdout.splitlines()]
    assert sorted(f["partner_id"] for f in held) == ["P-PIONEER", "P-SUMMIT"]
    assert all(d["state"] == "held" for f in held for d in f["documents"])
    nobody = hub_command(settings, "documents", "--partner", "P-APEX")
    assert nobody.stdout.strip() == "no files received from P-APEX"
