"""Scale-out on PostgreSQL: the same work done by 1, 2 and 4 `hub worker` processes against one
PostgreSQL on loopback.

    .venv/bin/python bench/bench_scale.py [--runs 3] [--workers 1 2 4] [--pos 2000] [--lines 20] [--posts 2000] [--clients 8] [--batch N]
                                          [--delivery per-worker|apart]

Starts a throwaway PostgreSQL cluster with tests/pg.sh (or uses HUB_BENCH_PG_URL, a server URL
without a database), and for each run makes a fresh ledger and ERP database pair, seeded with
the reference scenario plus 40 synthetic customers (tests/synthetic_customers.py), stock and
credit raised so every order books. The workers are started and idle before the work arrives,
each with the delivery process `hub worker` starts beside itself (--delivery apart: `hub worker
--no-delivery` and one `hub deliver` for all of them):

  interchange  one X12 850 interchange of --pos POs x --lines lines from Summit (one customer,
               so its orders are decided one after another: a customer's credit depends on them)
  webhook      --posts signed webhook posts of one JSON order each (1-5 lines) from 40 customers,
               by --clients concurrent clients, to a `hub serve --no-workers` API node

Reports documents per second (from the first receipt to the last posting) and the latency from a
file's receipt (interchanges.received_at) to its document's posting (documents.updated_at when it
settled): p50 and p99, medians over --runs; for the webhook, also the rate at which the API node
took the posts in (when it is no higher than documents/s, intake is what holds the work back).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_intake import free_port, percentile  # noqa: E402
from bench.bench_orders import interchange, purchase_order  # noqa: E402
from hub.bootstrap import initialise  # noqa: E402
from hub.config import Settings  # noqa: E402
from hub.credentials import CredentialStore  # noqa: E402
from hub.db import make_engine  # noqa: E402
from hub.ledger import tables as t  # noqa: E402
from hub.ledger.store import Ledger  # noqa: E402
from hub.ledger.tables import IN_FLIGHT_STATES  # noqa: E402
from hub.signing import signed_headers  # noqa: E402
from tests.synthetic_customers import customer_ids, make_orders, make_seed, rewrite_csv  # noqa: E402

CUSTOMERS = 40


class Cluster:
    """A PostgreSQL server for the runs: HUB_BENCH_PG_URL, or a throwaway one from tests/pg.sh."""

    def __init__(self) -> None:
        self.folder = None
        self.url = os.environ.get("HUB_BENCH_PG_URL")
        if self.url is None:
            self.folder = tempfile.mkdtemp(prefix="hub-bench-pg.")
            os.chmod(self.folder, 0o755)
            started = subprocess.run(["bash", str(ROOT / "tests" / "pg.sh"), "start", self.folder], check=True, capture_output=True, text=True)
            self.url = started.stdout.strip().splitlines()[-1]

    def database(self, prefix: str) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(f"{self.url}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return f"{self.url}/{name}"

    def cpu_seconds(self) -> float:
        """CPU time of the server so far: the postmaster's and its ended backends' (a backend's is
        counted once its connection has closed); NaN for a server the bench did not start."""
        if not self.folder:
            return math.nan
        pid = int((Path(self.folder) / "data" / "postmaster.pid").read_text().split()[0])
        own, ended_children = cpu_seconds(pid)
        return own + ended_children

    def stop(self) -> None:
        if self.folder:
            subprocess.run(["bash", str(ROOT / "tests" / "pg.sh"), "stop", self.folder], capture_output=True)


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(its own, its ended children's) CPU seconds of a running process, from /proc/PID/stat."""
    after_name = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(after_name[n]) for n in (11, 12, 13, 14))  # fields 14-17 of proc(5)
    tick = os.sysconf("SC_CLK_TCK")
    return (utime + stime) / tick, (cutime + cstime) / tick


class Fleet:
    """A seeded database pair and `workers` idle `hub worker` processes on it, each with its delivery
    process, or (`delivery` "apart") without and one `hub deliver` beside them."""

    def __init__(self, cluster: Cluster, folder: Path, workers: int, batch: int | None, delivery: str):
        seed, mappings = make_seed(folder, CUSTOMERS, random.Random(1), on_hand=100_000_000)
        rewrite_csv(seed / "erp" / "customers.csv", lambda row: {**row, "credit_limit": "1000000000.00", "credit_hold": "false"})
        self.settings = Settings(data_dir=folder / "var", database_url=cluster.database("ledger"), erp_database_url=cluster.database("erp"),
                                 mappings_dir=mappings)
        initialise(self.settings, seed)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")} | {
            "HUB_DATA_DIR": str(self.settings.data_dir), "HUB_DATABASE_URL": self.settings.database_url,
            "HUB_ERP_DATABASE_URL": self.settings.erp_database_url, "HUB_MAPPINGS_DIR": str(mappings)}
        if batch is not None:
            self.env["HUB_WORKER_BATCH"] = str(batch)
        self.folder = folder
        apart = delivery == "apart"
        self.started_cpu: dict[int, tuple[float, float]] = {}
        self.processes = [self._start(f"worker-{n}", "worker", *(["--no-delivery"] if apart else [])) for n in range(workers)]
        if apart:
            self.processes.append(self._start("delivery", "deliver"))
        try:
            self._wait_for_logs("worker-*.log", "worker started")
            self._wait_for_logs("delivery.log" if apart else "worker-*.log", "delivery started")
        except RuntimeError:
            self.stop()
            raise
        self.started_cpu = {process.pid: self._cpu(process) for process in self.processes}  # start-up is not the work's

    def _start(self, name: str, *command: str) -> subprocess.Popen:
        log = (self.folder / f"{name}.log").open("w")
        return subprocess.Popen([sys.executable, "-m", "hub.cli", *command], env=self.env, stdout=log, stderr=subprocess.STDOUT)

    @staticmethod
    def _cpu(process: subprocess.Popen) -> tuple[float, float]:
        """CPU seconds so far of the process and of the processes it started (a worker's delivery)."""
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        return cpu_seconds(process.pid)[0], sum(cpu_seconds(int(child))[0] for child in children)

    def _wait_for_logs(self, pattern: str, words: str) -> None:
        deadline = time.monotonic() + 60
        while not all(words in log.read_text() for log in self.folder.glob(pattern)):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the processes did not start; see {self.folder}")
            time.sleep(0.1)

    def api_node(self) -> int:
        port = free_port()
        self.processes.append(self._start("api", "serve", "--no-workers", "--no-sftp", "--port", str(port)))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    self.started_cpu[self.processes[-1].pid] = self._cpu(self.processes[-1])
                    return port
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"hub serve --no-workers did not start; see {self.folder / 'api.log'}")

    def settled(self, documents: int, timeout: float = 900) -> list[tuple[float, float]]:
        """(received, posted) unix seconds of each document, once all `documents` have settled."""
        engine = create_engine(self.settings.ledger_url)
        d, i = t.documents.c, t.interchanges.c
        waiting = select(func.count()).where(d.state.in_(IN_FLIGHT_STATES))
        deadline = time.monotonic() + timeout
        while True:
            with engine.connect() as conn:
                done = conn.execute(select(func.count()).select_from(t.documents)).scalar() == documents and conn.execute(waiting).scalar() == 0
                if done or time.monotonic() > deadline:
                    found = conn.execute(select(i.received_at, d.updated_at, d.state).join_from(t.documents, t.interchanges, d.interchange_id == i.id)).all()
                    break
            time.sleep(0.2)
        engine.dispose()
        states = {r.state for r in found}
        assert len(found) == documents and states <= {"posted", "answered"}, (len(found), states)
        return [(_unix(r.received_at), _unix(r.updated_at)) for r in found]

    def stop(self) -> dict[str, float]:
        """Stop the processes; the CPU seconds they used since they were ready: all workers together,
        delivery (`hub deliver`, or the workers' delivery processes), the API node."""
        used = {"workers": 0.0, "delivery": 0.0, "api": 0.0}
        part = {"worker": "workers", "deliver": "delivery", "serve": "api"}
        for process in self.processes:
            (own, children), (own_before, children_before) = self._cpu(process), self.started_cpu.get(process.pid, (0.0, 0.0))
            used[part[process.args[3]]] += own - own_before
            used["delivery"] += children - children_before
            process.terminate()
        for process in self.processes:
            process.wait(60)
        return used


def _unix(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def interchange_run(fleet: Fleet, args) -> list[tuple[float, float]]:
    rng = random.Random(2)
    raw = interchange(1, [purchase_order(n, args.lines, rng) for n in range(1, args.pos + 1)])
    ledger = Ledger(make_engine(fleet.settings.ledger_url))
    ledger.receive(raw, "sftp", "bench-850.edi", None)
    ledger.engine.dispose()
    return fleet.settled(args.pos)


def webhook_run(fleet: Fleet, args) -> list[tuple[float, float]]:
    customers = customer_ids(CUSTOMERS)
    store = CredentialStore.for_settings(fleet.settings, make_engine(fleet.settings.ledger_url))
    secrets = {f"P-{c}": store.rotate_secret(f"P-{c}") for c in customers}
    orders = make_orders(args.posts, customers, random.Random(3), max_lines=5)
    port = fleet.api_node()
    local = threading.local()

    def send(order: tuple[str, bytes]) -> None:
        partner, body = order
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=60)
        answer = local.client.post(f"http://127.0.0.1:{port}/v1/inbound/{partner}", content=body,
                                   headers={**signed_headers(secrets[partner], body), "Content-Type": "application/json"})
        assert answer.status_code == 202, answer.text

    with ThreadPoolExecutor(args.clients) as pool:
        list(pool.map(send, orders))
    return fleet.settled(args.posts)


def measure(times: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    """(documents/s, p50 ms, p99 ms, files received/s) from (received, posted) pairs; the rate at
    which files came in shows when intake, not the workers, is what holds the work back."""
    first, last = min(r for r, _ in times), max(p for _, p in times)
    latencies = [(p - r) * 1000 for r, p in times]
    received = {r for r, _ in times}
    intake = len(received) / (max(received) - first) if len(received) > 1 else float("nan")
    return len(times) / (last - first), percentile(latencies, 0.5), percentile(latencies, 0.99), intake


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--pos", type=int, default=2000)
    parser.add_argument("--lines", type=int, default=20)
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--only", choices=["interchange", "webhook"])
    parser.add_argument("--batch", type=int, help="HUB_WORKER_BATCH for the workers (default: theirs, 200 on PostgreSQL)")
    parser.add_argument("--delivery", choices=["per-worker", "apart"], default="per-worker",
                        help="who delivers the outbox: each worker's own delivery process, as `hub worker` starts it (default), or one `hub deliver`")
    args = parser.parse_args()
    cluster = Cluster()
    print(f"PostgreSQL: {cluster.url}; {os.cpu_count()} cores; delivery {args.delivery}")
    try:
        for name, run in (("interchange", interchange_run), ("webhook", webhook_run)):
            if args.only and name != args.only:
                continue
            for workers in args.workers:
                results, cpu = [], []
                for _ in range(args.runs):
                    with tempfile.TemporaryDirectory(prefix="hub-bench-scale.") as folder:
                        fleet = Fleet(cluster, Path(folder), workers, args.batch, args.delivery)
                        server_before, clients_before = cluster.cpu_seconds(), time.process_time()
                        try:
                            times = run(fleet, args)
                            results.append(measure(times))
                        finally:
                            used = fleet.stop()
                        clients = time.process_time() - clients_before
                        time.sleep(1)  # the backends of the closed connections end
                        used |= {"postgres": cluster.cpu_seconds() - server_before, "bench": clients}
                        cpu.append({part: seconds * 1000 / len(times) for part, seconds in used.items()})
                rates, p50s, p99s, intakes = zip(*results)
                intake = statistics.median(intakes)
                received = "" if math.isnan(intake) else f", files received {intake:.0f}/s"
                print(f"{name:11s} {workers} worker(s): median {statistics.median(rates):6.0f} docs/s, p50 {statistics.median(p50s):7.0f} ms,"
                      f" p99 {statistics.median(p99s):7.0f} ms{received}  (runs: {', '.join(f'{r:.0f}' for r in rates)} docs/s;"
                      f" p99 {', '.join(f'{p:.0f}' for p in p99s)} ms)", flush=True)
                parts = ", ".join(f"{part} {statistics.median(run[part] for run in cpu):.1f}" for part in ("workers", "delivery", "api", "postgres", "bench"))
                print(f"{'':11s} CPU ms per document (median): {parts}", flush=True)
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
