"""The partner API: settings, credentials and delivery, changed through the real app on a seeded
hub. Each change lands in the ledger with an audit row (before/after); secrets appear only in the
rotation answer, never in another answer nor in the audit log; each role may do what it may."""

from __future__ import annotations

import shutil

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient

from hub.api import create_app
from hub.audit import entries
from hub.auth import revoke_token
from hub.credentials import CredentialStore
from hub.ledger import tables as t
from tests.conftest import SCENARIO, rows, token_for

NEW_SUPPLIER = {
    "id": "P-NORTHWIND", "name": "Northwind Fasteners", "role": "supplier", "erp_ref": "V30",
    "isa": {"qualifier": "ZZ", "id": "NORTHWIND"}, "gs": "NORTHWIND", "x12_version": "004010",
    "inbound": ["x12-856", "x12-810"], "outbound": ["x12-997"], "channel": "sftp",
}
PASSWORD = "correct horse battery staple"


@pytest.fixture
def api(hub, settings):
    """`api(role)`: a client of the real app holding a token of that role (named after the role)."""
    app = create_app(settings)
    clients: dict[str, TestClient] = {}

    def client(role: str = "integration") -> TestClient:
        if role not in clients:
            clients[role] = TestClient(app, headers=token_for(settings, role, name=role, partner="P-SUMMIT" if role == "partner" else None))
        return clients[role]

    yield client
    app.state.engine.dispose()


def public_key(comment: str = "edi@summit") -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
    return f"{key} {comment}"


def audit_rows(hub, action: str | None = None) -> list[dict]:
    """Audit rows, oldest first."""
    return list(reversed(entries(hub.ledger.engine, action=action, limit=1000)))


def stored_partner(hub, partner_id: str):
    return hub.ledger.partner_directory().get(partner_id)


def is_problem(response, status: int, *words: str) -> bool:
    body = response.json()
    return (response.status_code == status and response.headers["content-type"] == "application/problem+json"
            and body["status"] == status and all(w in body["detail"] for w in words))


# -- reading ------------------------------------------------------------------------------------------


def test_every_staff_role_reads_partners_and_what_credentials_are_set(api, hub, settings):
    listed = api("finance").get("/v1/partners")
    assert listed.status_code == 200
    assert [p["id"] for p in listed.json()] == sorted(p.id for p in hub.ledger.partner_directory().partners)
    summit = next(p for p in listed.json() if p["id"] == "P-SUMMIT")
    assert (summit["role"], summit["isa"], summit["delivery"]) == ("customer", {"qualifier": "01", "id": "123456789"},
                                                                   {"method": "pickup", "url": None, "attempts": None})
    for role in ("admin", "integration", "operations", "finance"):
        shown = api(role).get("/v1/partners/P-SUMMIT")
        assert shown.status_code == 200, role
        assert shown.json()["credentials"] == {"sftp_password_set_at": None, "sftp_keys": [], "webhook_secret_set_at": None}
    assert is_problem(api("finance").get("/v1/partners/P-NOBODY"), 404, "P-NOBODY")
    assert is_problem(api("finance").get("/v1/partners/bad%20id"), 422, "partner_id")


# -- creating and changing settings --------------------------------------------------------------------


def test_a_new_partner_is_created_once_and_audited(api, hub):
    created = api().post("/v1/partners", json=NEW_SUPPLIER)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/v1/partners/P-NORTHWIND"
    assert created.json()["credentials"]["sftp_keys"] == []
    partner = stored_partner(hub, "P-NORTHWIND")
    assert (partner.name, partner.role, partner.isa.id, partner.enabled, partner.delivery.method) == (
        "Northwind Fasteners", "supplier", "NORTHWIND", True, "pickup")
    with hub.ledger.engine.connect() as conn:
        assert rows(conn, "SELECT name, role, enabled FROM partners WHERE id = 'P-NORTHWIND'") == [
            {"name": "Northwind Fasteners", "role": "supplier", "enabled": True}]
    [entry] = audit_rows(hub, "partner.create")
    assert (entry["actor"], entry["role"], entry["target"], entry["before"]) == ("integration", "integration", "partner:P-NORTHWIND", None)
    assert entry["after"] == partner.model_dump(mode="json")

    again = api().post("/v1/partners", json={**NEW_SUPPLIER, "name": "Someone else"})
    assert is_problem(again, 409, "P-NORTHWIND exists already")
    assert stored_partner(hub, "P-NORTHWIND").name == "Northwind Fasteners"
    same_sender = api().post("/v1/partners", json={**NEW_SUPPLIER, "id": "P-COPY", "isa": {"qualifier": "01", "id": "123456789"}})
    assert is_problem(same_sender, 409, "P-SUMMIT already sends as ISA 01/123456789")
    assert stored_partner(hub, "P-COPY") is None
    assert len(audit_rows(hub)) == 1  # refusals change nothing and are not audited


@pytest.mark.parametrize(("body", "field"), [
    ({**NEW_SUPPLIER, "role": "vendor"}, "body.role"),
    ({k: v for k, v in NEW_SUPPLIER.items() if k != "name"}, "body.name"),
    ({**NEW_SUPPLIER, "id": "../etc"}, "body.id"),
    ({**NEW_SUPPLIER, "colour": "blue"}, "body.colour"),
    ({**NEW_SUPPLIER, "delivery": {"method": "https", "url": "http://edi.example.com/in"}}, "must be https://"),
    ({**NEW_SUPPLIER, "name": "x" * 201}, "body.name"),
])
def test_a_partner_of_the_wrong_shape_is_refused_naming_the_field(api, hub, body, field):
    before = hub.ledger.partner_directory().partners
    refused = api().post("/v1/partners", json=body)
    assert is_problem(refused, 422, field), refused.text
    assert hub.ledger.partner_directory().partners == before and audit_rows(hub) == []


def test_a_patch_changes_the_fields_given_and_audits_only_those(api, hub):
    before = stored_partner(hub, "P-SUMMIT")
    changed = api("admin").patch("/v1/partners/P-SUMMIT", json={"name": "Summit Hardware Inc.", "outbound": ["x12-997"], "erp_ref": None})
    assert changed.status_code == 200, changed.text
    after = stored_partner(hub, "P-SUMMIT")
    assert (after.name, after.outbound, after.erp_ref) == ("Summit Hardware Inc.", ["x12-997"], None)
    assert after.model_dump(exclude={"name", "outbound", "erp_ref"}) == before.model_dump(exclude={"name", "outbound", "erp_ref"})
    assert changed.json()["name"] == "Summit Hardware Inc."
    [entry] = audit_rows(hub, "partner.update")
    assert (entry["actor"], entry["role"], entry["target"]) == ("admin", "admin", "partner:P-SUMMIT")
    assert entry["before"] == {"erp_ref": "C100", "name": "Summit Hardware", "outbound": ["x12-997", "x12-855", "x12-856", "x12-810"]}
    assert entry["after"] == {"erp_ref": None, "name": "Summit Hardware Inc.", "outbound": ["x12-997"]}

    assert api().patch("/v1/partners/P-SUMMIT", json={"name": "Summit Hardware Inc."}).status_code == 200
    assert len(audit_rows(hub, "partner.update")) == 1  # nothing changed, nothing audited


@pytest.mark.parametrize(("body", "field"), [
    ({"name": ""}, "body.name"),
    ({"name": None}, "body.name"),
    ({"id": "P-OTHER"}, "body.id"),
    ({"role": "reseller"}, "body.role"),
    ({"delivery": {"method": "https"}}, "needs a url"),
    ({"inbound": "x12-850"}, "body.inbound"),
    ({"enabled": 0}, "body.enabled"),  # JSON types as the schema says: no 0 for false
    ({"delivery": {"method": "https", "url": "https://edi.summit.example/in", "attempts": "3"}}, "body.delivery.attempts"),
])
def test_a_patch_of_the_wrong_shape_changes_nothing(api, hub, body, field):
    before = stored_partner(hub, "P-SUMMIT")
    refused = api().patch("/v1/partners/P-SUMMIT", json=body)
    assert is_problem(refused, 422, field), refused.text
    assert stored_partner(hub, "P-SUMMIT") == before and audit_rows(hub) == []


def test_text_that_is_not_unicode_is_refused_before_it_reaches_the_ledger(api, hub):
    """JSON lets `\\ud800` through as a lone surrogate, which the ledger could store but no answer could carry."""
    before = stored_partner(hub, "P-SUMMIT")
    for method, path, body in (("patch", "/v1/partners/P-SUMMIT", b'{"gs": "\\ud800"}'),
                               ("patch", "/v1/partners/P-SUMMIT", b'{"isa": {"qualifier": "ZZ", "id": "\\ud800"}}'),
                               ("put", "/v1/partners/P-SUMMIT/delivery", b'{"method": "https", "url": "https://\\ud800.example"}'),
                               ("post", "/v1/partners", b'{"id": "P-X", "name": "X", "role": "customer", "erp_ref": "\\ud800"}')):
        refused = api().request(method, path, content=body, headers={"Content-Type": "application/json"})
        assert is_problem(refused, 422, "not valid Unicode"), (path, refused.text)
    assert stored_partner(hub, "P-SUMMIT") == before and stored_partner(hub, "P-X") is None and audit_rows(hub) == []


def test_a_patch_to_another_partners_identity_or_an_unknown_partner_is_refused(api, hub):
    assert is_problem(api().patch("/v1/partners/P-LAKESIDE", json={"isa": {"qualifier": "01", "id": "123456789"}}), 409, "P-SUMMIT")
    assert is_problem(api().patch("/v1/partners/P-NOBODY", json={"name": "x"}), 404, "P-NOBODY")
    assert audit_rows(hub) == []


def test_disable_and_enable_are_audited_and_the_webhook_follows(api, hub):
    disabled = api().post("/v1/partners/P-CASCADE/disable")
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    assert stored_partner(hub, "P-CASCADE").enabled is False
    with hub.ledger.engine.connect() as conn:
        assert rows(conn, "SELECT enabled FROM partners WHERE id = 'P-CASCADE'") == [{"enabled": False}]
    refused = TestClient(api().app).post("/v1/inbound/P-CASCADE", content=b"{}")
    assert refused.status_code == 403
    assert api().post("/v1/partners/P-CASCADE/enable").json()["enabled"] is True
    assert [(e["action"], e["before"], e["after"]) for e in audit_rows(hub)] == [
        ("partner.disable", {"enabled": True}, {"enabled": False}),
        ("partner.enable", {"enabled": False}, {"enabled": True}),
    ]
    assert is_problem(api().post("/v1/partners/P-NOBODY/disable"), 404, "P-NOBODY")


def test_delivery_is_set_as_hub_partner_delivery_sets_it(api, hub):
    pushed = api().put("/v1/partners/P-SUMMIT/delivery", json={"method": "https", "url": "https://edi.summit.example/in", "attempts": 3})
    assert pushed.status_code == 200, pushed.text
    assert stored_partner(hub, "P-SUMMIT").delivery.model_dump() == {"method": "https", "url": "https://edi.summit.example/in", "attempts": 3}
    assert api().put("/v1/partners/P-SUMMIT/delivery", json={"method": "pickup"}).json()["delivery"]["method"] == "pickup"
    assert [(e["action"], e["before"], e["after"]) for e in audit_rows(hub)] == [
        ("partner.delivery", {"delivery": {"method": "pickup", "url": None, "attempts": None}},
         {"delivery": {"method": "https", "url": "https://edi.summit.example/in", "attempts": 3}}),
        ("partner.delivery", {"delivery": {"method": "https", "url": "https://edi.summit.example/in", "attempts": 3}},
         {"delivery": {"method": "pickup", "url": None, "attempts": None}}),
    ]
    for body, words in (({"method": "https", "url": "http://edi.summit.example/in"}, "must be https://"),
                        ({"method": "pickup", "url": "https://x.example"}, "only used with method https"),
                        ({"method": "https", "url": "https://x.example", "attempts": 0}, "body.attempts"),
                        ({"method": "fax"}, "body.method")):
        assert is_problem(api().put("/v1/partners/P-SUMMIT/delivery", json=body), 422, words)
    assert stored_partner(hub, "P-SUMMIT").delivery.method == "pickup" and len(audit_rows(hub)) == 2


# -- credentials -----------------------------------------------------------------------------------------


def test_credentials_are_set_and_only_the_rotation_answer_shows_a_secret(api, hub, settings):
    store = CredentialStore.for_settings(settings, hub.ledger.engine)
    answers = []

    answers.append(api().put("/v1/partners/P-SUMMIT/password", json={"password": PASSWORD}))
    assert answers[-1].status_code == 200 and answers[-1].json()["credentials"]["sftp_password_set_at"]
    assert store.verify_password("P-SUMMIT", PASSWORD)

    line = public_key()
    answers.append(api().post("/v1/partners/P-SUMMIT/ssh-keys", json={"key": line}))
    assert answers[-1].status_code == 201
    fingerprint = answers[-1].json()["fingerprint"]
    assert fingerprint.startswith("SHA256:") and store.authorized_keys("P-SUMMIT") == [line.rsplit(" ", 1)[0]]

    rotated = api().post("/v1/partners/P-SUMMIT/webhook-secret")
    assert rotated.status_code == 200 and rotated.headers["cache-control"] == "no-store"
    secret = rotated.json()["webhook_secret"]
    assert secret.startswith("whsec_") and store.webhook_secret("P-SUMMIT") == secret

    answers.append(api("finance").get("/v1/partners/P-SUMMIT"))
    shown = answers[-1].json()["credentials"]
    assert shown["sftp_password_set_at"] and shown["webhook_secret_set_at"]
    assert [(k["fingerprint"], k["comment"]) for k in shown["sftp_keys"]] == [(fingerprint, "edi@summit")]
    answers.append(api("finance").get("/v1/partners"))

    removed = api().delete(f"/v1/partners/P-SUMMIT/ssh-keys/{fingerprint}")  # the fingerprint may hold a '/'
    assert removed.status_code == 204 and store.authorized_keys("P-SUMMIT") == []
    assert is_problem(api().delete(f"/v1/partners/P-SUMMIT/ssh-keys/{fingerprint}"), 404, "has no key")

    entries = audit_rows(hub)
    assert [(e["action"], e["actor"], e["target"], e["before"], e["after"]) for e in entries] == [
        ("partner.password", "integration", "partner:P-SUMMIT", None, {"password": "set"}),
        ("partner.key.add", "integration", "partner:P-SUMMIT", None, {"fingerprint": fingerprint, "comment": "edi@summit"}),
        ("partner.webhook-secret", "integration", "partner:P-SUMMIT", None, {"webhook_secret": "rotated"}),
        ("partner.key.remove", "integration", "partner:P-SUMMIT", {"fingerprint": fingerprint}, None),
    ]
    audit_text = str(entries) + api("admin").get("/v1/audit").text
    with hub.ledger.engine.connect() as conn:
        hashed = rows(conn, "SELECT value FROM partner_credentials WHERE kind = 'password'")[0]["value"]
    for leak in (PASSWORD, secret, hashed):
        assert leak not in audit_text
        assert all(leak not in answer.text for answer in answers)


@pytest.mark.parametrize(("path", "body", "words"), [
    ("password", {"password": "short"}, "body.password"),
    ("password", {}, "body.password"),
    ("ssh-keys", {"key": "ssh-ed25519 not-base64!"}, "not an OpenSSH public key"),
    ("ssh-keys", {"key": "ssh-foo AAAAC3NzaC1lZDI1NTE5AAAAIA"}, "not an OpenSSH public key"),
    ("ssh-keys", {"key": "ssh-ed25519"}, "not an OpenSSH public key"),
    ("ssh-keys", {"key": "ssh-ed25519 AAAA\nssh-rsa AAAA"}, "body.key"),
])
def test_credentials_that_cannot_be_taken_are_422_and_change_nothing(api, hub, path, body, words):
    method = api().put if path == "password" else api().post
    refused = method(f"/v1/partners/P-SUMMIT/{path}", json=body)
    assert is_problem(refused, 422, words), refused.text
    with hub.ledger.engine.connect() as conn:
        assert rows(conn, "SELECT kind FROM partner_credentials") == []
    assert audit_rows(hub) == []


def test_credentials_of_an_unknown_partner_are_404(api):
    assert is_problem(api().put("/v1/partners/P-NOBODY/password", json={"password": PASSWORD}), 404, "P-NOBODY")
    assert is_problem(api().post("/v1/partners/P-NOBODY/ssh-keys", json={"key": public_key()}), 404, "P-NOBODY")
    assert is_problem(api().post("/v1/partners/P-NOBODY/webhook-secret"), 404, "P-NOBODY")
    assert is_problem(api().delete("/v1/partners/P-NOBODY/ssh-keys/SHA256:abc"), 404, "P-NOBODY")


# -- who may ------------------------------------------------------------------------------------------------

CHANGES = [
    ("post", "/v1/partners", NEW_SUPPLIER),
    ("patch", "/v1/partners/P-SUMMIT", {"name": "Summit Hardware Inc."}),
    ("post", "/v1/partners/P-SUMMIT/disable", None),
    ("post", "/v1/partners/P-SUMMIT/enable", None),
    ("put", "/v1/partners/P-SUMMIT/delivery", {"method": "pickup"}),
    ("put", "/v1/partners/P-SUMMIT/password", {"password": PASSWORD}),
    ("post", "/v1/partners/P-SUMMIT/ssh-keys", {"key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKey"}),
    ("delete", "/v1/partners/P-SUMMIT/ssh-keys/SHA256:abc", None),
    ("post", "/v1/partners/P-SUMMIT/webhook-secret", None),
]
READS = ["/v1/partners", "/v1/partners/P-SUMMIT"]


def test_only_integration_and_admin_change_partners(api, hub, settings):
    for method, path, body in CHANGES:
        for role in ("operations", "finance", "partner"):
            refused = api(role).request(method, path, json=body)
            assert is_problem(refused, 403, f"has role {role}", "needs one of: admin, integration"), (method, path, role, refused.text)
    assert audit_rows(hub) == [] and stored_partner(hub, "P-NORTHWIND") is None
    for method, path, body in CHANGES:
        for role in ("integration", "admin"):
            answer = api(role).request(method, path, json=body)
            assert answer.status_code not in (401, 403), (method, path, role, answer.text)


def test_no_token_or_a_dead_token_is_401(api, hub, settings):
    revoked_header = token_for(settings, "integration", name="leaver")
    revoke_token(hub.ledger.engine, "leaver")
    anonymous = TestClient(api().app)
    for method, path, body in [*CHANGES, *(("get", p, None) for p in READS)]:
        for headers, words in (({}, "needs a bearer token"), ({"Authorization": "Bearer hub_nonsense"}, "unknown or revoked"),
                               (revoked_header, "unknown or revoked")):
            refused = anonymous.request(method, path, json=body, headers=headers)
            assert is_problem(refused, 401, words) and refused.headers["www-authenticate"] == "Bearer", (method, path)
    assert api("partner").get("/v1/partners").status_code == 403  # a partner's token reads nothing here
    assert audit_rows(hub) == []


# -- the seed no longer overwrites ----------------------------------------------------------------------------


def test_seeding_again_adds_new_partners_and_leaves_existing_ones_as_the_api_set_them(api, hub, settings, tmp_path):
    from hub.bootstrap import initialise

    api().patch("/v1/partners/P-SUMMIT", json={"name": "Summit Hardware Inc."})
    api().post("/v1/partners/P-METRO/disable")
    seed = tmp_path / "seed"
    shutil.copytree(SCENARIO / "erp", seed / "erp")
    partners = yaml.safe_load((SCENARIO / "partners.yaml").read_text())
    partners["partners"].append(NEW_SUPPLIER)
    (seed / "partners.yaml").write_text(yaml.safe_dump(partners))

    initialise(settings, seed)

    assert stored_partner(hub, "P-SUMMIT").name == "Summit Hardware Inc."
    assert stored_partner(hub, "P-METRO").enabled is False
    assert stored_partner(hub, "P-NORTHWIND").name == "Northwind Fasteners"
    with hub.ledger.engine.connect() as conn:
        assert rows(conn, f"SELECT count(*) AS n FROM {t.partners.name}") == [{"n": len(partners["partners"])}]
