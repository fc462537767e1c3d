"""The delivery process a `hub worker` on PostgreSQL starts beside itself.

Delivery in the worker's own process competes with the worker threads for Python's interpreter
lock: on the 2,000-PO interchange a worker settled about a tenth fewer orders a second with it
(bench/bench_scale.py, interleaved runs: 474 against 519 POs/s with delivery apart). So `hub worker`
runs `hub deliver --beside <its pid>` as a child: started with it, started again if it ends on its
own, stopped with it, and ending by itself when the worker is killed and cannot stop it. The
child hears of new outbound files from PostgreSQL's notices (hub.ledger.wakeup), so nothing waits
for it. On SQLite, which has no notices, delivery stays in the worker process, woken by its threads.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys

log = logging.getLogger("hub.serve")

RESTART_SECONDS = 5.0  # after the child ended on its own: a child that cannot start is not started in a tight loop


class DeliveryProcess:
    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start the child; it logs to this process's output."""
        self.process = subprocess.Popen([sys.executable, "-m", "hub.cli", "deliver", "--beside", str(os.getpid())])
        log.info("started `hub deliver` beside this worker, in process %s", self.process.pid)

    async def keep(self, stop: asyncio.Event) -> None:
        """Start the child again whenever it ends before `stop` is set."""
        while not stop.is_set():
            if self.process is not None and self.process.poll() is not None:
                log.error("the delivery process %s ended (exit status %s); another starts in %ss",
                          self.process.pid, self.process.returncode, RESTART_SECONDS)
                if await _stopped_within(stop, RESTART_SECONDS):
                    return
                self.start()
            await _stopped_within(stop, 1.0)

    def stop(self, timeout: float = 30) -> None:
        """Stop the child as SIGTERM stops `hub deliver`: an attempt cut short is made again later."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("the delivery process %s did not stop within %ss; it is killed", self.process.pid, timeout)
            self.process.kill()
            self.process.wait()


async def stop_when_orphaned(parent: int, stop: asyncio.Event) -> None:
    """For the child: set `stop` once `parent` is no longer its parent (it ended, even by SIGKILL)."""
    while not await _stopped_within(stop, 1.0):
        if os.getppid() != parent:
            log.warning("the worker process %s that started this delivery is gone; delivery stops too", parent)
            stop.set()


async def _stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return False
    return True
