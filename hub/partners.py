"""Trading partners and our own identity, as `partners.yaml` describes them.

Partners are seeded into the ledger by `hub init --seed`; the pipeline reads them from there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hub.errors import ConfigurationError


class X12Identity(BaseModel):
    qualifier: str
    id: str


class CxmlIdentity(BaseModel):
    domain: str
    id: str


class OurIdentity(BaseModel):
    name: str
    isa: X12Identity
    gs: str


# the prefix of a partner's inbound kind (`x12-850`, `csv-order`, `cxml-order`) -> reader name
READER_FOR_KIND = {"x12": "x12", "csv": "csv", "json": "json", "cxml": "xml", "xml": "xml"}
# what every X12 partner may send without listing it in `inbound` (X12 convention): its functional
# acknowledgments of what we sent, read with the base mapping `mappings/_base/<kind>.yaml`
ACKNOWLEDGMENT_KINDS = ("x12-997", "x12-999")
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


class Delivery(BaseModel):
    """How a partner gets what we send: left in its SFTP `outbox/` (pickup) or POSTed to its URL."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["pickup", "https"] = "pickup"
    url: str | None = None  # for https; plain http only to this machine (tests, a local relay)
    attempts: int | None = Field(None, ge=1, le=100)  # overrides HUB_DELIVERY_ATTEMPTS

    @model_validator(mode="after")
    def _url_fits_method(self) -> "Delivery":
        if self.method == "https":
            if not self.url:
                raise ValueError("delivery by https needs a url")
            parts = urlsplit(self.url)
            if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS):
                raise ValueError(f"delivery url {self.url} must be https:// (plain http only to localhost)")
        elif self.url:
            raise ValueError("a url is only used with method https")
        return self


class Partner(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    name: str
    role: str  # customer, supplier, 3pl
    erp_ref: str | None = None  # customer or supplier id in the ERP
    isa: X12Identity | None = None
    gs: str | None = None
    x12_version: str | None = None
    cxml_identity: CxmlIdentity | None = None
    warehouse: str | None = None
    inbound: list[str] = Field(default_factory=list)  # e.g. x12-850, csv-order
    outbound: list[str] = Field(default_factory=list)  # e.g. x12-997, x12-855
    channel: str | None = None  # how it sends to us: sftp, webhook
    delivery: Delivery = Field(default_factory=Delivery)
    enabled: bool = True

    def readers(self) -> dict[str | None, str]:
        """Reader name -> document type, for what this partner sends (`csv-order` -> {"csv": "order"})."""
        kinds = [kind.split("-", 1) for kind in self.inbound]
        return {READER_FOR_KIND.get(prefix): doctype for prefix, doctype in kinds}

    def sends(self, what: str) -> bool:
        return what in self.inbound or what in ACKNOWLEDGMENT_KINDS

    def wants(self, what: str) -> bool:
        return what in self.outbound


class PartnerDirectory(BaseModel):
    self_: OurIdentity = Field(alias="self")
    partners: list[Partner]

    def get(self, partner_id: str) -> Partner | None:
        return next((p for p in self.partners if p.id == partner_id), None)

    def by_x12_sender(self, qualifier: str, sender_id: str) -> Partner | None:
        return next(
            (p for p in self.partners if p.isa and p.isa.qualifier == qualifier and p.isa.id == sender_id),
            None,
        )

    def by_erp_ref(self, erp_ref: str, role: str) -> Partner | None:
        """The partner that is ERP customer / supplier `erp_ref`."""
        return next((p for p in self.partners if p.erp_ref == erp_ref and p.role == role), None)

    def by_cxml_sender(self, domain: str, identity: str) -> Partner | None:
        return next(
            (
                p
                for p in self.partners
                if p.cxml_identity and p.cxml_identity.domain == domain and p.cxml_identity.id == identity
            ),
            None,
        )


def load_partner_file(path: Path) -> PartnerDirectory:
    try:
        data = yaml.safe_load(path.read_text())
        return PartnerDirectory.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read partner file {path}: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigurationError(f"partner file {path} is not valid: {problems}") from exc
