"""Mappings and rulesets, versioned: one set of routes for both (hub.config_versions).

    GET  /v1/{mappings|rulesets}                              every key with its active version
    GET  .../{key}/versions, .../{key}/versions/{v}           versions; one with its body
    POST .../{key}/validate                                   checks a body without storing it
    POST .../{key}/versions                                   stores a new version (201)
    POST .../{key}/versions/{v}/test                          runs a sample file through it
    POST .../{key}/versions/{v}/dry-run                       what it would change on stored documents
    POST .../{key}/versions/{v}/activate, .../{key}/rollback

A mapping's key is `{partner_id}/{doc_type}`, a ruleset's `{name}`. A version's body is the YAML or
JSON document itself; a sample file is sent as it is (X12, CSV, JSON, XML).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field

from hub.api.context import ApiContext
from hub.api.params import MAX_ID, Id, Moment, ValidText, problems, read_body
from hub.api.security import allow, readers
from hub.auth import Actor
from hub.config_text import MAX_TEXT_BYTES
from hub.config_versions import MAPPING, RULESET, Subject, dry_run, test_version
from hub.errors import InputError

_CONFIG_BODY = {"requestBody": {"required": True, "content": {
    "application/yaml": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "object"}}}}}
_SAMPLE_BODY = {"requestBody": {"required": True, "content": {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}


class DryRun(ValidText):
    partner: str | None = Field(None, description="only this partner's documents (rulesets; a mapping's partner is fixed)")
    doc_type: str | None = Field(None, description="only documents of this type, e.g. 850")
    received_from: Moment | None = Field(None, description="received at or after (a date: from its start; a datetime, UTC unless it says)")
    received_to: Moment | None = Field(None, description="received at or before (a date: to its end)")
    limit: int = Field(100, ge=1, le=500)


class Rollback(ValidText):
    to: int | None = Field(None, ge=1, le=MAX_ID, description="the version to go back to; default: the one below the active version")


def _routes(context: ApiContext, subject: Subject, plural: str, key_path: str, key_of) -> APIRouter:
    routes = APIRouter(prefix=f"/v1/{plural}", tags=[plural], responses=problems(401, 403, 404, 409, 413, 422))
    base = f"/{key_path}"
    changers = allow("integration")

    @routes.get(base + "/versions", dependencies=[Depends(readers)], summary=f"versions of a {subject.noun}")
    def versions(key: dict = Depends(key_of)) -> list[dict[str, Any]]:
        return subject.versions(context.engine).list(key)

    @routes.get(base + "/versions/{version}", dependencies=[Depends(readers)], summary=f"one {subject.noun} version with its body")
    def version(version: Id, key: dict = Depends(key_of)) -> dict[str, Any]:
        return subject.versions(context.engine).get(key, version)

    @routes.post(base + "/validate", dependencies=[Depends(changers)], openapi_extra=_CONFIG_BODY,
                 summary=f"check a {subject.noun} without storing it")
    async def validate(request: Request, key: dict = Depends(key_of)) -> dict[str, Any]:
        return subject.validate(context.hub(), key, await read_body(request, MAX_TEXT_BYTES))

    @routes.post(base + "/versions", status_code=201, openapi_extra=_CONFIG_BODY, summary=f"store a new {subject.noun} version (inactive)")
    async def create(request: Request, key: dict = Depends(key_of), actor: Actor = Depends(changers)) -> dict[str, Any]:
        number = subject.create(context.hub(), key, await read_body(request, MAX_TEXT_BYTES), actor)
        return {"version": number, "active": False}

    @routes.post(base + "/versions/{version}/test", dependencies=[Depends(changers)], openapi_extra=_SAMPLE_BODY,
                 summary=f"run a sample file through a {subject.noun} version (nothing is stored or posted)")
    async def test(request: Request, version: Id, key: dict = Depends(key_of),
                   partner: str | None = Query(None, description="the sender of the sample (rulesets; a mapping's partner is fixed)")) -> dict[str, Any]:
        raw = await read_body(request, context.settings.max_file_bytes)
        if not key.get("partner_id") and not partner:
            raise InputError("say which partner sent the sample: ?partner=P-...")
        return test_version(context.hub(), subject, key, version, raw, partner)

    @routes.post(base + "/versions/{version}/dry-run", dependencies=[Depends(changers)],
                 summary=f"what a {subject.noun} version would change on stored documents (nothing changes)")
    def dry(version: Id, ask: DryRun, key: dict = Depends(key_of)) -> dict[str, Any]:
        return dry_run(context.hub(), subject, key, version, ask.partner, ask.doc_type, ask.received_from, ask.received_to, ask.limit)

    @routes.post(base + "/versions/{version}/activate", summary=f"make a {subject.noun} version the one workers use")
    def activate(version: Id, key: dict = Depends(key_of), actor: Actor = Depends(changers)) -> dict[str, Any]:
        return subject.versions(context.engine).activate(key, version, actor)

    @routes.post(base + "/rollback", summary=f"re-activate an earlier {subject.noun} version")
    def rollback(ask: Rollback, key: dict = Depends(key_of), actor: Actor = Depends(changers)) -> dict[str, Any]:
        return subject.versions(context.engine).rollback(key, actor, ask.to)

    @routes.get("", dependencies=[Depends(readers)], summary=f"every {subject.noun} with versions, and its active version")
    def keys() -> list[dict[str, Any]]:
        return subject.versions(context.engine).keys()

    return routes


def _mapping_key(partner_id: str, doc_type: str) -> dict[str, str]:
    return {"partner_id": partner_id, "doc_type": doc_type}


def _ruleset_key(name: str) -> dict[str, str]:
    return {"name": name}


def router(context: ApiContext) -> APIRouter:
    routes = APIRouter()
    routes.include_router(_routes(context, MAPPING, "mappings", "{partner_id}/{doc_type}", _mapping_key))
    routes.include_router(_routes(context, RULESET, "rulesets", "{name}", _ruleset_key))
    return routes
