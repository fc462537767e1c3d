"""`hub serve` (HTTP API + SFTP + worker), `hub worker` (worker and delivery only; on PostgreSQL its
delivery runs in a child process, hub.delivery_process) and `hub deliver` (delivery only)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
from typing import TYPE_CHECKING

from hub.bootstrap import DEMO_SEED, initialise
from hub.config import Settings

if TYPE_CHECKING:
    from hub.delivery_process import DeliveryProcess

log = logging.getLogger("hub.serve")


def add_commands(sub) -> None:
    serve = sub.add_parser("serve", help="run the hub: HTTP API, SFTP server and a worker; seeds the demo data on the first start of the embedded default")
    serve.add_argument("--host", default="127.0.0.1", help="address the HTTP API and SFTP listen on (0.0.0.0 for every interface)")
    serve.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    serve.add_argument("--sftp-port", type=int, default=2222, help="SFTP port (default 2222)")
    serve.add_argument("--no-sftp", action="store_true", help="do not run the SFTP server")
    serve.add_argument("--no-workers", action="store_true", help="take files in but leave running them to `hub worker` processes")
    serve.set_defaults(run=cmd_serve)

    worker = sub.add_parser("worker", help="run a worker alone: run received files and queued documents, deliver the outbox")
    worker.add_argument("--concurrency", type=_positive, default=1, metavar="N",
                        help="worker threads in this process (default 1); each holds up to two connections per database")
    worker.add_argument("--no-delivery", action="store_true",
                        help="leave delivering the outbox to `hub deliver` (which then must run somewhere), so this process only works")
    worker.set_defaults(run=cmd_worker)

    deliver = sub.add_parser("deliver", help="run delivery alone: hand outbound files to partners as workers make them, until stopped "
                                             "(beside `hub worker --no-delivery`; `hub outbox deliver` delivers once and returns)")
    deliver.add_argument("--beside", type=_positive, metavar="PID", help=argparse.SUPPRESS)  # a `hub worker`'s child: ends with that process
    deliver.set_defaults(run=cmd_deliver)


def cmd_serve(args) -> int:
    from hub.service import Listen, Service

    settings = _started_settings()
    first_start = not settings.database_url and not (settings.data_dir / "ledger.sqlite").exists()
    for line in initialise(settings, DEMO_SEED if first_start else None):
        log.info("%s", line)
    service = Service(settings, http=Listen(args.host, args.port),
                      sftp=None if args.no_sftp else Listen(args.host, args.sftp_port), workers=0 if args.no_workers else 1)
    return _run(service)


def cmd_worker(args) -> int:
    settings = _started_settings()
    if settings.db_pool_size < args.concurrency + 2:  # each thread posts to the ERP while its ledger transaction is open
        settings = settings.model_copy(update={"db_pool_size": args.concurrency + 2})
    beside = not args.no_delivery and settings.ledger_url.startswith("postgresql")
    return _run_without_servers(settings, workers=args.concurrency, delivery=not args.no_delivery and not beside,
                                delivery_beside=beside)


def cmd_deliver(args) -> int:
    return _run_without_servers(_started_settings(), workers=0, delivery=True, parent=args.beside)


def _run_without_servers(settings: Settings, workers: int, delivery: bool, delivery_beside: bool = False, parent: int | None = None) -> int:
    """`delivery_beside`: start a delivery process beside this one; `parent`: stop when that process is gone."""
    from hub.delivery_process import DeliveryProcess
    from hub.service import Service

    if parent is None:  # a worker's delivery process: the worker has just brought the databases up to date
        for line in initialise(settings, None):
            log.info("%s", line)
    return _run(Service(settings, http=None, sftp=None, workers=workers, delivery=delivery),
                DeliveryProcess() if delivery_beside else None, parent)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def _started_settings() -> Settings:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("asyncssh", "alembic"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    return Settings()


def _run(service, delivery_beside: DeliveryProcess | None = None, parent: int | None = None) -> int:
    from hub.delivery_process import stop_when_orphaned

    _settle_garbage_collector()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with contextlib.AsyncExitStack() as companions:
            if delivery_beside is not None:
                delivery_beside.start()
                companions.push_async_callback(asyncio.to_thread, delivery_beside.stop)
                companions.push_async_callback(_cancel, asyncio.create_task(delivery_beside.keep(stop)))
            if parent is not None:
                companions.push_async_callback(_cancel, asyncio.create_task(stop_when_orphaned(parent, stop)))
            await service.run(stop)

    asyncio.run(main())
    return 0


async def _cancel(task: asyncio.Task) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _settle_garbage_collector() -> None:
    """Collect less often than Python's default. Reading an interchange makes many small dicts that
    all live until the document is stored, so the default (a collection per 700 new objects, and now
    and then a full sweep over every module loaded) spent about a tenth of a worker's time finding
    nothing to free. What is loaded at start is frozen out of the sweeps."""
    gc.freeze()
    gc.set_threshold(10_000, 20, 10)
