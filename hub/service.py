"""The running hub: the HTTP API, the SFTP server, a worker and outbound delivery in one process.

`hub serve` runs all of them (the embedded default; `--no-workers` for an API node); `hub worker`
runs only workers and delivery (`--no-delivery`: workers alone), on as many machines as needed
against one PostgreSQL; `hub deliver` runs delivery alone. They share one asyncio loop, except
the workers, which run documents in their own threads (the pipeline is synchronous) and are woken
by intake in this process. Everything stops together on SIGINT/SIGTERM or when `stop` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass

import uvicorn

from hub.api import create_app
from hub.config import Settings
from hub.credentials import CredentialStore
from hub.intake import Intake, ReceiptsFirst
from hub.pipeline import Hub
from hub.worker import WorkerPool

log = logging.getLogger("hub.serve")


@dataclass
class Listen:
    host: str
    port: int  # 0: any free port (tests); the port taken is reported on the service


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handling: the service stops all its parts together."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


class Service:
    def __init__(self, settings: Settings, http: Listen | None, sftp: Listen | None, workers: int = 1, delivery: bool | None = None):
        """`workers`: worker threads in this process (0: none, an API node or a delivery process).
        `delivery`: deliver the outbox here; by default when there are workers."""
        self.settings = settings
        self.hub = Hub(settings)
        delivery = bool(workers) if delivery is None else delivery
        self.dispatcher = self.hub.dispatcher if delivery else None
        turns = ReceiptsFirst()
        self.worker = WorkerPool(self.hub, workers, on_settled=self.dispatcher.wake if delivery else lambda: None, turns=turns,
                                 delivers=delivery) if workers or delivery else None
        self.intake = Intake(self.hub.ledger, wake=self.worker.wake if self.worker else lambda: None, turns=turns)
        self.http, self.sftp = http, sftp
        self.http_port: int | None = None
        self.sftp_port: int | None = None
        self.ready = threading.Event()  # set once everything listens (tests wait on it)

    async def run(self, stop: asyncio.Event) -> None:
        parts = contextlib.AsyncExitStack()
        async with parts:
            if self.worker:
                self.worker.start()
                parts.callback(self.worker.stop)
            if self.dispatcher:
                delivery = asyncio.create_task(self.dispatcher.run(stop))
                parts.push_async_callback(_finish, delivery)
            if self.sftp:
                listener = self._sftp_listener()
                await listener.start(self.sftp.host, self.sftp.port)
                parts.push_async_callback(listener.close)
                self.sftp_port = listener.port
            if self.http:
                server = await self._start_http()
                parts.push_async_callback(_stop_http, server)
            self.ready.set()
            await stop.wait()
            log.info("stopping")

    def _sftp_listener(self):
        factory = self.hub.registry.listeners.get("sftp")
        if factory is None:
            raise RuntimeError("no SFTP adapter is installed (entry point group partnerhub.channels)")
        credentials = CredentialStore.for_settings(self.settings, self.hub.ledger.engine)
        return factory(self.settings, self.intake, credentials, self.hub.ledger)

    async def _start_http(self) -> _Uvicorn:
        app = create_app(self.settings, intake=self.intake, registry=self.hub.registry)
        server = _Uvicorn(uvicorn.Config(app, host=self.http.host, port=self.http.port, log_level="warning", lifespan="off"))
        server.task = asyncio.create_task(server.serve())
        while not server.started:
            if server.task.done():
                server.task.result()  # raises why it could not start (port taken ...)
                raise RuntimeError(f"the HTTP API could not listen on {self.http.host}:{self.http.port}")
            await asyncio.sleep(0.01)
        self.http_port = server.servers[0].sockets[0].getsockname()[1]
        log.info("HTTP API listening on http://%s:%s (OpenAPI: /docs; webhook: POST /v1/inbound/{partner})", self.http.host, self.http_port)
        return server


async def _stop_http(server: _Uvicorn) -> None:
    server.should_exit = True
    await server.task


async def _finish(task: asyncio.Task) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        await task
