"""Many customers competing for scarce stock: the reference scenario plus `count` synthetic
customers (C7001 ...), each a partner (P-C7001 ...) sending JSON orders that name our SKUs, with
credit limits and stock low enough that orders end booked, backordered or held. Used by the
scale-out tests and bench/bench_scale.py.
"""

from __future__ import annotations

import csv
import json
import random
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKUS = ["HS-1001", "HS-1002", "HS-1003", "HS-2001", "HS-2002", "HS-2003", "HS-3001", "HS-3002"]

# the customer's order as JSON (Cascade's layout), lines naming our SKU as the seller's part number
ORDER_MAPPING = """\
document: purchase_order
source:
  format: json
fields:
  po_number: id
  order_date: {expr: created_at, transform: date}
  customer_account: {expr: customer.account, optional: true}
  lines:
    each: items
    fields:
      line_no: {position: true}
      quantity: {expr: quantity, transform: int}
      item: {fields: {vendor_part: product_code}}
"""


def customer_ids(count: int) -> list[str]:
    return [f"C{7001 + n}" for n in range(count)]


def make_seed(folder: Path, count: int, rng: random.Random, on_hand: int) -> tuple[Path, Path]:
    """A seed folder and a mappings folder for `count` synthetic customers; every inventory row
    has `on_hand` units free. Returns (seed, mappings)."""
    seed, mappings = folder / "seed", folder / "mappings"
    shutil.copytree(ROOT / "samples" / "scenario", seed, ignore=shutil.ignore_patterns("documents"))
    shutil.copytree(ROOT / "mappings", mappings)
    customers = customer_ids(count)
    with (seed / "erp" / "customers.csv").open("a", newline="") as f:
        out = csv.writer(f)
        for customer in customers:
            out.writerow([customer, f"Customer {customer}", rng.choice(["gold", "silver", "standard"]), f"{rng.randint(20, 120) * 1000}.00",
                          "0.00", "false", rng.choice(["true", "false"]), rng.choice(["true", "false"]), rng.choice(["DAL", "CHI"])])
    rewrite_csv(seed / "erp" / "inventory.csv", lambda row: {**row, "on_hand": str(on_hand + int(row["allocated"]))})
    with (seed / "partners.yaml").open("a") as f:
        for customer in customers:
            f.write(f"  - id: P-{customer}\n    name: Customer {customer}\n    role: customer\n    erp_ref: {customer}\n"
                    f"    inbound: [json-order]\n    outbound: []\n    channel: webhook\n")
            (mappings / f"P-{customer}").mkdir()
            (mappings / f"P-{customer}" / "order.yaml").write_text(ORDER_MAPPING)
    return seed, mappings


def make_orders(count: int, customers: list[str], rng: random.Random, max_lines: int = 4) -> list[tuple[str, bytes]]:
    """`count` one-order JSON files as (partner id, bytes), customers and items at random."""
    orders = []
    for n in range(1, count + 1):
        customer = rng.choice(customers)
        items = [{"product_code": sku, "quantity": rng.randint(1, 12)} for sku in rng.sample(SKUS, rng.randint(1, max_lines))]
        order = {"id": f"PO-{customer}-{n:05d}", "created_at": "2026-11-18T10:00:00Z", "customer": {"account": customer}, "items": items}
        orders.append((f"P-{customer}", json.dumps(order).encode()))
    return orders


def rewrite_csv(path: Path, change) -> None:
    """Rewrite a seed CSV with `change` applied to each row (a dict)."""
    with path.open() as f:
        rows = list(csv.DictReader(f))
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(change(r) for r in rows)
