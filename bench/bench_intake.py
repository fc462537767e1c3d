"""Partners sending over the wire: signed webhook posts and SFTP uploads to a running `hub serve`.

    .venv/bin/python bench/bench_intake.py [--runs 3] [--posts 500] [--clients 8] [--uploads 200] [--sftp-clients 4]

Each run starts `hub serve` (embedded default: SQLite, one worker) as its own process on a fresh
data dir seeded like bench_orders (room for every order), then:

  webhook  --posts signed POSTs of one 5-line PO each, from --clients concurrent clients (httpx)
  sftp     --uploads files of one 5-line PO each, from --sftp-clients concurrent paramiko sessions

Reports requests per second (requests / time until the last answer) and the latency from the
start of each request to the moment its order is posted in the ERP (the document's settled row,
written in the same step as the ERP posting's outcome): p50 and p99, medians over --runs.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import paramiko
from sqlalchemy import create_engine, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_orders import interchange, make_seed, purchase_order  # noqa: E402
from hub.bootstrap import initialise  # noqa: E402
from hub.config import Settings  # noqa: E402
from hub.credentials import CredentialStore  # noqa: E402
from hub.db import make_engine  # noqa: E402
from hub.ledger import tables as t  # noqa: E402
from hub.ledger.tables import IN_FLIGHT_STATES  # noqa: E402
from hub.signing import signed_headers  # noqa: E402

PASSWORD = "bench password for summit"
LINES = 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningHub:
    """`hub serve` in its own process on a seeded data dir, with Summit's secret and password set."""

    def __init__(self, folder: Path):
        self.settings = Settings(data_dir=folder / "var")
        initialise(self.settings, make_seed(folder))
        store = CredentialStore.for_settings(self.settings, make_engine(self.settings.ledger_url))
        self.secret = store.rotate_secret("P-SUMMIT")
        store.set_password("P-SUMMIT", PASSWORD)
        self.http_port, self.sftp_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")} | {"HUB_DATA_DIR": str(self.settings.data_dir)}
        self.log = (folder / "serve.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "serve", "--port", str(self.http_port), "--sftp-port", str(self.sftp_port)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.http_port}/readyz").status_code == 200:
                    with socket.create_connection(("127.0.0.1", self.sftp_port), timeout=1):
                        return
            except (httpx.HTTPError, OSError):
                time.sleep(0.1)
        raise RuntimeError(f"hub serve did not start; see {folder / 'serve.log'}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(60)
        self.log.close()

    def posted_at(self, interchange_ids: list[int], timeout: float = 600) -> dict[int, float]:
        """When each file's document settled, as unix seconds; waits until all have."""
        engine = create_engine(self.settings.ledger_url)
        d = t.documents.c
        deadline = time.monotonic() + timeout
        while True:
            with engine.connect() as conn:
                rows = conn.execute(select(d.interchange_id, d.state, d.updated_at).where(d.interchange_id.in_(interchange_ids))).all()
            if (len(rows) == len(interchange_ids) and all(r.state not in IN_FLIGHT_STATES for r in rows)) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        engine.dispose()
        states = {r.state for r in rows}
        assert len(rows) == len(interchange_ids) and states <= {"posted", "answered"}, (len(rows), states)
        return {r.interchange_id: _unix(r.updated_at) for r in rows}


def _unix(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def orders(count: int, first: int) -> list[bytes]:
    rng = random.Random(first)
    return [interchange(first + n, [purchase_order(first + n, LINES, rng)]) for n in range(count)]


def webhook_run(hub: RunningHub, args) -> tuple[float, list[float]]:
    files = orders(args.posts, 1)
    url = f"http://127.0.0.1:{hub.http_port}/v1/inbound/P-SUMMIT"
    started: dict[int, float] = {}
    local = threading.local()

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=60)
        return local.client

    def send(body: bytes) -> None:
        begun = time.time()
        answer = client().post(url, content=body, headers={**signed_headers(hub.secret, body), "Content-Type": "application/edi-x12"})
        assert answer.status_code == 202, answer.text
        started[answer.json()["interchange_id"]] = begun

    began = time.time()
    with ThreadPoolExecutor(args.clients) as pool:
        list(pool.map(send, files))
    rate = len(files) / (time.time() - began)
    posted = hub.posted_at(list(started))
    return rate, [posted[i] - started[i] for i in started]


def sftp_run(hub: RunningHub, args) -> tuple[float, list[float]]:
    files = orders(args.uploads, 100_000)
    began_at: list[tuple[str, float]] = []

    def session(share: list[tuple[int, bytes]]) -> None:
        transport = paramiko.Transport(("127.0.0.1", hub.sftp_port))
        transport.connect(username="P-SUMMIT", password=PASSWORD)
        sftp = paramiko.SFTPClient.from_transport(transport)
        for n, body in share:
            name = f"bench-{n}.edi"
            begun = time.time()
            sftp.putfo(io.BytesIO(body), f"inbox/{name}", confirm=False)
            began_at.append((name, begun))
        transport.close()

    shares = [list(enumerate(files))[i::args.sftp_clients] for i in range(args.sftp_clients)]
    began = time.time()
    with ThreadPoolExecutor(args.sftp_clients) as pool:
        list(pool.map(session, shares))
    rate = len(files) / (time.time() - began)
    engine = create_engine(hub.settings.ledger_url)
    with engine.connect() as conn:
        ids = dict(conn.execute(select(t.interchanges.c.filename, t.interchanges.c.id).where(t.interchanges.c.channel == "sftp")).all())
    engine.dispose()
    started = {ids[name]: begun for name, begun in began_at}
    posted = hub.posted_at(list(started))
    return rate, [posted[i] - started[i] for i in started]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--posts", type=int, default=500)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--uploads", type=int, default=200)
    parser.add_argument("--sftp-clients", type=int, default=4)
    args = parser.parse_args()
    for name, workload, count, clients in (("webhook", webhook_run, args.posts, args.clients), ("sftp", sftp_run, args.uploads, args.sftp_clients)):
        rates, p50s, p99s = [], [], []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as folder:
                hub = RunningHub(Path(folder))
                try:
                    rate, latencies = workload(hub, args)
                finally:
                    hub.stop()
            rates.append(rate)
            p50s.append(percentile(latencies, 0.50) * 1000)
            p99s.append(percentile(latencies, 0.99) * 1000)
        print(f"{name:8s} {count} requests from {clients} clients: median {statistics.median(rates):,.0f} requests/s, "
              f"latency to posted p50 {statistics.median(p50s):,.0f} ms, p99 {statistics.median(p99s):,.0f} ms  "
              f"(runs: {', '.join(f'{r:,.0f}/s' for r in rates)}; p99s: {', '.join(f'{p:,.0f}' for p in p99s)} ms)")


if __name__ == "__main__":
    main()
