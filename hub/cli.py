"""The `hub` command. Output is written for the people who run it; `--json` for scripts."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from hub.config import PROJECT_ROOT, Settings
from hub.errors import HubError

DEMO_SEED = PROJECT_ROOT / "samples" / "scenario"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except HubError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hub", description="Integration hub and EDI gateway for wholesale distributors.")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    init = sub.add_parser("init", help="create or upgrade the ledger and ERP schemas; with --seed, load ERP data and partners")
    init.add_argument("--seed", type=Path, metavar="DIR", help="a folder laid out like samples/scenario (erp/*.csv, partners.yaml)")
    init.set_defaults(run=cmd_init)

    ingest = sub.add_parser("ingest", help="receive files as drop-offs and run each to a settled state")
    ingest.add_argument("files", nargs="+", type=Path, metavar="FILE")
    ingest.add_argument("--partner", help="the sender, for formats that do not name it (CSV, JSON, XML)")
    ingest.add_argument("--json", action="store_true", help="print one JSON object per document")
    ingest.set_defaults(run=cmd_ingest)

    resume = sub.add_parser("resume", help="run files that were received but not settled (after a crash)")
    resume.add_argument("--json", action="store_true")
    resume.set_defaults(run=cmd_resume)

    demo = sub.add_parser("demo", help="fresh data dir, seed the reference scenario, ingest every sample, print a summary")
    demo.add_argument("--data-dir", type=Path, help="where to put the demo (default: $HUB_DATA_DIR or ./var)")
    demo.set_defaults(run=cmd_demo)

    serve = sub.add_parser("serve", help="run the hub: the HTTP API on the embedded default, seeded with the demo data on first start")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(run=cmd_serve)

    status = sub.add_parser("status", help="documents per state and open exceptions per queue")
    status.set_defaults(run=cmd_status)
    return parser


def _hub(settings: Settings | None = None):
    from hub.pipeline import Hub  # heavy imports only for commands that run documents

    return Hub(settings or Settings())


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
    rulesets = load_ruleset_dir(settings.rules_dir)
    record_rulesets(ledger_engine, rulesets)
    done.append("rulesets active: " + ", ".join(r.key for r in rulesets))
    if seed is not None:
        if not (seed / "erp").is_dir() or not (seed / "partners.yaml").is_file():
            raise HubError(f"{seed} is not a seed folder: it needs erp/*.csv and partners.yaml")
        loaded = load_seed(erp_engine, seed / "erp")
        directory = load_partner_file(seed / "partners.yaml")
        Ledger(ledger_engine).save_partners(directory)
        done.append(f"ERP seed loaded from {seed / 'erp'}: " + (", ".join(f"{t} {n}" for t, n in loaded.items()) if loaded else "tables already had data"))
        done.append(f"{len(directory.partners)} partners from {seed / 'partners.yaml'}")
    return done


def cmd_init(args) -> int:
    for line in initialise(Settings(), args.seed):
        print(line)
    return 0


def cmd_ingest(args) -> int:
    hub = _hub()
    failed = False
    for path in args.files:
        for report in hub.ingest_file(path, partner_id=args.partner):
            failed |= report.state == "rejected"
            _print_report(report, args.json)
    return 1 if failed else 0


def cmd_resume(args) -> int:
    reports = _hub().resume()
    for report in reports:
        _print_report(report, args.json)
    if not reports and not args.json:
        print("nothing to resume: every received file is settled")
    return 0


def _print_report(report, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.to_dict()))
        return
    what = f"{report.type or '-'} {report.reference or ''}".strip()
    line = f"{Path(report.file).name if report.file else '-'}: {report.partner or 'unknown sender'} {what} -> {report.state}"
    if report.erp_ref:
        line += f" as {report.erp_ref}"
    if report.holds:
        line += f" (holds: {', '.join(report.holds)})"
    print(line)
    for error in report.errors:
        print(f"    {error}")


DEMO_PARTNERS = {".csv": "P-METRO", ".json": "P-CASCADE"}


def cmd_demo(args) -> int:
    settings = Settings(data_dir=args.data_dir) if args.data_dir else Settings()
    if settings.database_url or settings.erp_database_url:
        raise HubError("hub demo makes a fresh embedded data dir; unset HUB_DATABASE_URL and HUB_ERP_DATABASE_URL")
    if settings.data_dir.exists():
        shutil.rmtree(settings.data_dir)
    for line in initialise(settings, DEMO_SEED):
        print(line)
    hub = _hub(settings)
    print()
    for path in sorted((DEMO_SEED / "documents").glob("*")):
        if path.suffix in (".yaml",):
            continue
        for report in hub.ingest_file(path, partner_id=DEMO_PARTNERS.get(path.suffix)):
            _print_report(report, False)
    print()
    _print_status(hub.ledger)
    print(f"\noutbound files are in {settings.outbox_dir}/<partner>/")
    return 0


def cmd_serve(args) -> int:
    import uvicorn

    from hub.api import create_app

    settings = Settings()
    first_start = not settings.database_url and not (settings.data_dir / "ledger.sqlite").exists()
    for line in initialise(settings, DEMO_SEED if first_start else None):
        print(line)
    print(f"HTTP API on http://{args.host}:{args.port} (documents: /v1/documents, exceptions: /v1/exceptions, OpenAPI: /docs)")
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")
    return 0


def cmd_status(args) -> int:
    from hub.db import make_engine
    from hub.ledger.store import Ledger

    _print_status(Ledger(make_engine(Settings().ledger_url)))
    return 0


def _print_status(ledger) -> None:
    counts = ledger.state_counts()
    print("documents: " + (", ".join(f"{state} {n}" for state, n in sorted(counts.items())) or "none"))
    queues: dict[str, int] = {}
    for row in ledger.open_exceptions():
        queues[row.queue] = queues.get(row.queue, 0) + 1
    print("open exceptions: " + (", ".join(f"{q} {n}" for q, n in sorted(queues.items())) or "none"))


if __name__ == "__main__":
    sys.exit(main())
