"""What people do to held and rejected documents: reprocess them, and resolve their exceptions.

    reprocess              run a held or rejected document again from its stored bytes, with the
                           mappings and rules active now (after a mapping fix, say)
    resolve an exception   with an action; the document goes on from where it stopped:
      release                  evaluate it again as things are now (a credit limit raised, stock arrived)
      override_price           book order lines at a price a person sets (default: the customer's own)
      accept_over_shipment     record the ASN although it ships more than ordered
      approve_invoice          approve the supplier invoice despite its variances
      reject                   cancel it in the ERP and send the partner the rejection it expects (855 RJ)

Every run is a rerun of the document (hub.pipeline.Hub.rerun): the ERP judges its held records
afresh, so nothing is ever posted twice. What a person decided (waived hold codes, prices) is kept
on the document (`overrides`) and applies to any later run of it. Each action is audited in the
transaction that makes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select, update

from hub import audit
from hub.auth import Actor
from hub.db import writer
from hub.errors import Conflict, NotFound
from hub.ledger import tables as t
from hub.ledger.store import now
from hub.pipeline import Hub, RerunPlan
from hub.timespan import utc

REPROCESSABLE = ("held", "rejected")


@dataclass(frozen=True, slots=True)
class ActionSpec:
    codes: frozenset[str] | None  # the hold codes it resolves; None: any
    waives: bool  # the codes stop holding the document
    words: str


ACTIONS = {
    "release": ActionSpec(None, False, "released for evaluation again"),
    "override_price": ActionSpec(frozenset({"PRICE_MISMATCH", "PRICE_UNDECIDED"}), False, "price overridden"),
    "accept_over_shipment": ActionSpec(frozenset({"OVER_SHIPMENT"}), True, "over-shipment accepted"),
    "approve_invoice": ActionSpec(frozenset({"PRICE_VARIANCE", "QTY_NOT_RECEIVED", "TOTAL_MISMATCH"}), True, "invoice approved"),
    "reject": ActionSpec(None, False, "rejected and cancelled"),
}


def reprocess(hub: Hub, document_ids: list[int], actor: Actor) -> list[dict[str, Any]]:
    """Run each document again; one answer per document (its new state, or why it was not run)."""
    results = []
    for document_id in document_ids:
        def plan(document) -> RerunPlan:
            if document.state not in REPROCESSABLE:
                raise Conflict(f"document {document.id} is {document.state}; only held or rejected documents are reprocessed")
            return RerunPlan("reprocess", actor.name, f"cleared when reprocessed by {actor.name}",
                             *_kept(document.overrides), overrides=document.overrides,
                             record=_audited(actor, "document.reprocess", f"document:{document.id}", document.state))
        try:
            results.append({"document_id": document_id, **hub.rerun(document_id, plan).to_dict()})
        except (Conflict, NotFound) as exc:
            results.append({"document_id": document_id, "error": str(exc)})
    return results


def resolve(hub: Hub, exception_id: int, action: str, actor: Actor, prices: dict[int, Decimal] | None = None,
            note: str | None = None) -> dict[str, Any]:
    """Resolve an open exception with `action`; the document runs again (or is cancelled)."""
    spec = ACTIONS.get(action)
    if spec is None:
        raise Conflict(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
    exception = _exception(hub.ledger.engine, exception_id)
    if exception["status"] != "open":
        raise Conflict(f"exception {exception_id} is {exception['status']} already ({exception['resolution']})")
    if spec.codes is not None and exception["code"] not in spec.codes:
        raise Conflict(f"{action} resolves {', '.join(sorted(spec.codes))}; exception {exception_id} is {exception['code']}")
    if prices and action != "override_price":
        raise Conflict("prices are given only with override_price")
    resolution = f"{spec.words} by {actor.name}" + (f": {note}" if note else "")

    def plan(document) -> RerunPlan:
        if document.state != "held":
            raise Conflict(f"document {document.id} is {document.state}, not held; exception {exception_id} cannot be resolved by running it")
        overrides = _decided(document, action, actor, spec, exception["code"], prices)
        waived, price_overrides = _kept(overrides)
        return RerunPlan(action, actor.name, resolution, waived, price_overrides, overrides, cancel=action == "reject",
                         record=_audited(actor, f"exception.{action}", f"exception:{exception_id}", document.state, note))

    report = hub.rerun(exception["document_id"], plan)
    return {"exception": _exception(hub.ledger.engine, exception_id), "document": report.to_dict()}


def assign(engine: Engine, exception_id: int, assignee: str | None, actor: Actor) -> dict[str, Any]:
    x = t.exceptions.c
    with writer(engine).begin() as conn:
        before = conn.execute(select(x.assignee, x.status).where(x.id == exception_id)).first()
        if before is None:
            raise NotFound(f"no exception {exception_id}")
        conn.execute(update(t.exceptions).where(x.id == exception_id).values(assignee=assignee))
        audit.record(conn, actor, "exception.assign", f"exception:{exception_id}", {"assignee": before.assignee}, {"assignee": assignee})
    return _exception(engine, exception_id)


def exceptions(engine: Engine, queue: str | None = None, status: str | None = "open", assignee: str | None = None,
               older_than_hours: float | None = None, overdue: bool | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Exceptions, most urgent first (priority, then due time), each with its age and whether it is overdue."""
    x = t.exceptions.c
    query = select(t.exceptions, t.documents.c.partner_id, t.documents.c.doc_type, t.documents.c.reference).join(
        t.documents, t.documents.c.id == x.document_id)
    stamp = now()
    for condition, applies in ((x.queue == queue, queue), (x.status == status, status), (x.assignee == assignee, assignee),
                               (x.created_at <= stamp - timedelta(hours=older_than_hours or 0), older_than_hours is not None)):
        if applies:
            query = query.where(condition)
    if overdue is not None:
        query = query.where(x.due_at < stamp if overdue else x.due_at >= stamp)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(x.priority, x.due_at, x.id).limit(limit)).all()
    return [_with_age(dict(r._mapping), stamp) for r in rows]


def _with_age(row: dict[str, Any], stamp) -> dict[str, Any]:
    created, due = utc(row["created_at"]), utc(row["due_at"])
    row["age_hours"] = round((stamp - created).total_seconds() / 3600, 2)
    row["overdue"] = row["status"] == "open" and due < stamp
    return row


def _exception(engine: Engine, exception_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(select(t.exceptions).where(t.exceptions.c.id == exception_id)).first()
    if row is None:
        raise NotFound(f"no exception {exception_id}")
    return dict(row._mapping)


def _decided(document, action: str, actor: Actor, spec: ActionSpec, code: str, prices: dict[int, Decimal] | None) -> dict[str, Any]:
    """The document's overrides with this decision added."""
    overrides = dict(document.overrides or {})
    if spec.waives:
        overrides["waived"] = sorted(set(overrides.get("waived", [])) | set(spec.codes))
    if action == "override_price":
        chosen = prices or _stated_prices(document)
        if not chosen:
            raise Conflict(f"document {document.id} states no prices to accept; give the prices per line (line number -> unit price)")
        overrides["prices"] = {**overrides.get("prices", {}), **{str(line): str(price) for line, price in chosen.items()}}
    overrides["decisions"] = overrides.get("decisions", []) + [{"action": action, "code": code, "by": actor.name, "at": now().isoformat()}]
    return overrides


def _stated_prices(document) -> dict[int, Decimal]:
    """The customer's own prices on the lines a pricing rule held."""
    held_lines = {d["inputs"]["id"] for d in document.decisions or [] if str(d.get("action", "")).startswith("hold(PRICE_")}
    lines = (document.canonical or {}).get("lines", [])
    return {line["line_no"]: Decimal(str(line["unit_price"])) for line in lines
            if line["line_no"] in held_lines and line.get("unit_price") is not None}


def _kept(overrides: dict[str, Any] | None) -> tuple[frozenset[str], dict[int, Decimal]]:
    """(waived codes, price per order line) kept on a document."""
    overrides = overrides or {}
    return frozenset(overrides.get("waived", [])), {int(k): Decimal(v) for k, v in overrides.get("prices", {}).items()}


def _audited(actor: Actor, action: str, target: str, state_before: str, note: str | None = None):
    def record(conn, run) -> None:
        audit.record(conn, actor, action, target, {"document": run.document_id, "state": state_before},
                     {"document": run.document_id, "state": run.state, "holds": run.hold_codes, **({"note": note} if note else {})})
    return record


def chosen_documents(engine: Engine, ids: list[int], partner: str | None = None, state: str | None = None) -> list[int]:
    """`ids`, then (given a partner or a state) every such document of the partner (or everyone's)
    in `state` (default rejected), oldest first; each once."""
    chosen = list(ids)
    if partner or state:
        d = t.documents.c
        query = select(d.id).where(d.state == (state or "rejected")).order_by(d.id)
        if partner:
            query = query.where(d.partner_id == partner)
        with engine.connect() as conn:
            chosen += conn.execute(query).scalars()
    return list(dict.fromkeys(chosen))
