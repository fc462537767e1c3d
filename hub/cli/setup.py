"""`hub init` and `hub demo`: make the schemas, load a seed, try the reference scenario."""

from __future__ import annotations

import shutil
from pathlib import Path

from hub.bootstrap import DEMO_SEED, initialise
from hub.cli.files import make_hub, print_report, print_status
from hub.config import Settings
from hub.errors import HubError

DEMO_PARTNERS = {".csv": "P-METRO", ".json": "P-CASCADE"}


def add_commands(sub) -> None:
    init = sub.add_parser("init", help="create or upgrade the ledger and ERP schemas; with --seed, load ERP data and partners")
    init.add_argument("--seed", type=Path, metavar="DIR", help="a folder laid out like samples/scenario (erp/*.csv, partners.yaml)")
    init.set_defaults(run=cmd_init)

    demo = sub.add_parser("demo", help="fresh data dir, seed the reference scenario, ingest every sample, print a summary")
    demo.add_argument("--data-dir", type=Path, help="where to put the demo (default: $HUB_DATA_DIR or ./var)")
    demo.set_defaults(run=cmd_demo)


def cmd_init(args) -> int:
    for line in initialise(Settings(), args.seed):
        print(line)
    return 0


def cmd_demo(args) -> int:
    settings = Settings(data_dir=args.data_dir) if args.data_dir else Settings()
    if settings.database_url or settings.erp_database_url:
        raise HubError("hub demo makes a fresh embedded data dir; unset HUB_DATABASE_URL and HUB_ERP_DATABASE_URL")
    if settings.data_dir.exists():
        shutil.rmtree(settings.data_dir)
    for line in initialise(settings, DEMO_SEED):
        print(line)
    hub = make_hub(settings)
    print()
    for path in sorted((DEMO_SEED / "documents").glob("*")):
        if path.suffix in (".yaml",):
            continue
        for report in hub.ingest_file(path, partner_id=DEMO_PARTNERS.get(path.suffix)):
            print_report(report, False)
    print()
    print_status(hub.ledger, settings)
    print(f"\noutbound files are in {settings.outbox_dir}/<partner>/")
    return 0
