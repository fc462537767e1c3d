"""Trading partners: their settings (what `partners.yaml` describes), which credentials are set, and
the changes an integration analyst makes when onboarding one (what `hub partner ...` does).

The ledger is the source of truth for a partner once it exists (`hub init --seed` only adds new
ones). Every change is audited in the same transaction, with the fields before and after; credential
changes record what was done (a fingerprint, "set", "rotated"), never a secret. Only the rotation
of a webhook secret answers with the secret, once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, create_model
from pydantic.fields import FieldInfo

from hub.api.context import ApiContext
from hub.api.params import PARTNER_ID, WORDS, Utc, ValidText, problems
from hub.api.security import allow, readers
from hub.audit import record
from hub.partner_changes import change_partner, credential_audit
from hub.auth import Actor
from hub.credentials import MIN_PASSWORD_LENGTH, CredentialError
from hub.errors import Conflict, NotFound
from hub.ledger.store import Ledger
from hub.partners import Delivery, Partner, PartnerDirectory

PartnerId = Annotated[str, Path(pattern=PARTNER_ID, description="the partner's id, e.g. P-SUMMIT")]
Fingerprint = Annotated[str, Path(max_length=100, pattern=WORDS, description="SHA256:..., as GET /v1/partners/{id} lists it")]
CHANGES = problems(401, 403, 404, 422)
WITH_BODY = problems(400, 401, 403, 404, 422)  # 400: a body that is not JSON


class DeliverySettings(Delivery, ValidText):
    """Delivery as the API takes it: JSON types as the schema says (no "3" for 3)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class PartnerSettings(Partner, ValidText):
    """A partner as the API takes it: the fields of partners.yaml, and no others."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: Annotated[str, StringConstraints(pattern=PARTNER_ID)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=WORDS)]
    role: Literal["customer", "supplier", "3pl"]
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)


def _constrained(field: FieldInfo) -> Any:
    """A field's type with its constraints (min_length, pattern ...)."""
    return Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation


class _Changes(ValidText):
    model_config = ConfigDict(extra="forbid", strict=True)


# Any of the settings but the id; each one given is checked as the whole partner is
PartnerChanges = create_model(
    "PartnerChanges",
    __base__=_Changes,
    __doc__="The settings to change; the others stay as they are.",
    **{name: (_constrained(field), Field(None, description=field.description))
       for name, field in PartnerSettings.model_fields.items() if name != "id"},
)


class SshKey(BaseModel):
    fingerprint: str
    comment: str | None
    added_at: Utc


class CredentialsSet(BaseModel):
    """Which credentials the partner has, and since when (never a secret)."""

    sftp_password_set_at: Utc | None
    sftp_keys: list[SshKey]
    webhook_secret_set_at: Utc | None


class PartnerDetail(Partner):
    credentials: CredentialsSet


class Password(ValidText):
    model_config = ConfigDict(extra="forbid", strict=True)
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=1024, description="the partner's SFTP password")


class PublicKey(ValidText):
    model_config = ConfigDict(extra="forbid", strict=True)
    key: str = Field(min_length=1, max_length=16384, pattern=WORDS,
                     description="one OpenSSH public key line: TYPE BASE64 [COMMENT], e.g. ssh-ed25519 AAAA... edi@partner")


class KeyAdded(BaseModel):
    partner_id: str
    fingerprint: str = Field(description="SHA256:..., as `ssh-keygen -l` prints it; DELETE .../ssh-keys/{fingerprint} removes the key")


class NewSecret(BaseModel):
    partner_id: str
    webhook_secret: str = Field(description="shown this once; the previous secret no longer works")


def router(context: ApiContext) -> APIRouter:
    routes = APIRouter(tags=["partners"])
    engine, ledger, credentials = context.engine, context.ledger, context.credentials
    integration = allow("integration")

    def detail(partner: Partner) -> PartnerDetail:
        summary = credentials.summary(partner.id)
        return PartnerDetail(**partner.model_dump(), credentials=CredentialsSet(
            sftp_password_set_at=summary.password_set_at,
            sftp_keys=[SshKey(fingerprint=f, comment=c, added_at=a) for f, c, a in summary.keys],
            webhook_secret_set_at=summary.secret_set_at))

    def existing(partner_id: str) -> Partner:
        with engine.connect() as conn:
            partner = Ledger.load_partner(conn, partner_id)
        if partner is None:
            raise NotFound(f"no partner {partner_id}")
        return partner

    def change(partner_id: str, caller: Actor, action: str, changed: Callable[[Partner], Partner]) -> PartnerDetail:
        return detail(change_partner(ledger, partner_id, caller, action, changed))

    @routes.get("/v1/partners", dependencies=[Depends(readers)], responses=problems(401, 403), summary="Every partner's settings")
    def partners() -> list[Partner]:
        return ledger.partner_directory().partners

    @routes.get("/v1/partners/{partner_id}", dependencies=[Depends(readers)], responses=problems(401, 403, 404, 422),
                summary="A partner's settings and which credentials are set (never a secret)")
    def partner(partner_id: PartnerId) -> PartnerDetail:
        return detail(existing(partner_id))

    @routes.post("/v1/partners", status_code=201, responses=problems(400, 401, 403, 409, 422), summary="Add a partner")
    def create(body: PartnerSettings, response: Response, caller: Actor = Depends(integration)) -> PartnerDetail:
        partner = Partner.model_validate(body.model_dump())
        with ledger.writer.begin() as conn:
            _check_unique(ledger.partner_directory(), partner)
            if not Ledger.add_partner(conn, partner):
                raise Conflict(f"partner {partner.id} exists already; PATCH /v1/partners/{partner.id} changes it")
            record(conn, caller, "partner.create", f"partner:{partner.id}", None, partner.model_dump(mode="json"))
        response.headers["Location"] = f"/v1/partners/{partner.id}"
        return detail(partner)

    @routes.patch("/v1/partners/{partner_id}", responses=problems(400, 401, 403, 404, 409, 422),
                  summary="Change some of a partner's settings")
    def update(partner_id: PartnerId, body: PartnerChanges, caller: Actor = Depends(integration)) -> PartnerDetail:
        def changed(before: Partner) -> Partner:
            settings = {k: v for k, v in before.model_dump().items() if k in PartnerSettings.model_fields}
            try:
                merged = PartnerSettings.model_validate({**settings, **body.model_dump(exclude_unset=True)})
            except ValidationError as exc:
                raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
            after = Partner.model_validate({**before.model_dump(), **merged.model_dump()})  # keeping any other keys partners.yaml gave
            _check_unique(ledger.partner_directory(), after)
            return after

        return change(partner_id, caller, "partner.update", changed)

    @routes.post("/v1/partners/{partner_id}/disable", responses=CHANGES, summary="Refuse the partner's files and logins")
    def disable(partner_id: PartnerId, caller: Actor = Depends(integration)) -> PartnerDetail:
        return change(partner_id, caller, "partner.disable", lambda p: p.model_copy(update={"enabled": False}))

    @routes.post("/v1/partners/{partner_id}/enable", responses=CHANGES, summary="Accept the partner's files and logins again")
    def enable(partner_id: PartnerId, caller: Actor = Depends(integration)) -> PartnerDetail:
        return change(partner_id, caller, "partner.enable", lambda p: p.model_copy(update={"enabled": True}))

    @routes.put("/v1/partners/{partner_id}/delivery", responses=WITH_BODY,
                summary="How outbound files reach the partner: pickup (its SFTP outbox/) or push to an https url")
    def delivery(partner_id: PartnerId, body: DeliverySettings, caller: Actor = Depends(integration)) -> PartnerDetail:
        return change(partner_id, caller, "partner.delivery", lambda p: p.model_copy(update={"delivery": Delivery(**body.model_dump())}))

    @routes.put("/v1/partners/{partner_id}/password", responses=WITH_BODY, summary="Set the partner's SFTP password (stored as a hash)")
    def password(partner_id: PartnerId, body: Password, caller: Actor = Depends(integration)) -> PartnerDetail:
        partner = existing(partner_id)
        audit = credential_audit(caller, "partner.password", partner.id)
        _credential("password", lambda: credentials.set_password(partner.id, body.password, audit))
        return detail(partner)

    @routes.post("/v1/partners/{partner_id}/ssh-keys", status_code=201, responses=WITH_BODY,
                 summary="Authorize an OpenSSH public key for the partner's SFTP login")
    def add_key(partner_id: PartnerId, body: PublicKey, caller: Actor = Depends(integration)) -> KeyAdded:
        partner = existing(partner_id)
        audit = credential_audit(caller, "partner.key.add", partner.id)
        fingerprint = _credential("key", lambda: credentials.add_key(partner.id, body.key, audit))
        return KeyAdded(partner_id=partner.id, fingerprint=fingerprint)

    @routes.delete("/v1/partners/{partner_id}/ssh-keys/{fingerprint:path}", status_code=204, response_class=Response,
                   responses=CHANGES, summary="Stop accepting a key (its SHA256:... fingerprint)")
    def remove_key(partner_id: PartnerId, fingerprint: Fingerprint, caller: Actor = Depends(integration)) -> Response:
        partner = existing(partner_id)
        if not credentials.remove_key(partner.id, fingerprint, credential_audit(caller, "partner.key.remove", partner.id, removed=True)):
            raise NotFound(f"{partner.id} has no key {fingerprint}; GET /v1/partners/{partner.id} lists its keys")
        return Response(status_code=204)

    @routes.post("/v1/partners/{partner_id}/webhook-secret", responses=CHANGES,
                 summary="Create or rotate the webhook secret; the answer shows it once")
    def rotate_secret(partner_id: PartnerId, response: Response, caller: Actor = Depends(integration)) -> NewSecret:
        partner = existing(partner_id)
        secret = credentials.rotate_secret(partner.id, credential_audit(caller, "partner.webhook-secret", partner.id))
        response.headers["Cache-Control"] = "no-store"
        return NewSecret(partner_id=partner.id, webhook_secret=secret)

    return routes


def _credential(field: str, change: Callable[[], Any]) -> Any:
    """Run a CredentialStore change; a credential it cannot take (not a key) is 422 on `field`."""
    try:
        return change()
    except CredentialError as exc:
        raise RequestValidationError([{"loc": ("body", field), "msg": str(exc), "type": "value_error"}]) from None


def _check_unique(directory: PartnerDirectory, partner: Partner) -> None:
    """Inbound files name their sender by X12 or cXML identity: two partners may not share one."""
    for other in directory.partners:
        if other.id == partner.id:
            continue
        if partner.isa and other.isa and (partner.isa.qualifier, partner.isa.id) == (other.isa.qualifier, other.isa.id):
            raise Conflict(f"{other.id} already sends as ISA {other.isa.qualifier}/{other.isa.id}; two partners cannot share one")
        if partner.cxml_identity and partner.cxml_identity == other.cxml_identity:
            raise Conflict(f"{other.id} already sends as cXML {other.cxml_identity.domain}/{other.cxml_identity.id}")
