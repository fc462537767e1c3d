"""The reference ERP's core tables (SQLAlchemy Core; SQLite and PostgreSQL).

Table names and key columns are the contract in the scenario README; the other columns are ours.
Money is Numeric(12,2); prices a partner states (the customer's unit price, a supplier's invoiced
price) are Numeric(12,4) so nothing they sent is rounded away. Quantities are whole numbers.
`source_document` is UNIQUE wherever it appears (with the order or PO, where one document yields a
row per order or PO): a document is posted at most once. It is nullable because orders keyed in
by hand (the seed's) come from no document.

`erp_sequences` hands out ERP numbers (sales order, shipment and AR invoice ids) inside the
posting transaction, so a number is never given twice and a rolled-back posting gives its number
back.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    ForeignKeyConstraint,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

Money = Numeric(12, 2)
StatedPrice = Numeric(12, 4)

# ERP numbers handed out from erp_sequences: sequence name -> how a number is written
NUMBERING = {"sales_order": "SO-{:06d}", "shipment": "SH-{:06d}", "ar_invoice": "INV-{:06d}"}


def _source_document() -> Column:
    return Column("source_document", String(200), unique=True, nullable=True)


# --- master data -------------------------------------------------------------------------------

warehouses = Table(
    "warehouses",
    metadata,
    Column("code", String(10), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("operated_by", String(40)),  # partner id of the 3PL running it; NULL = ourselves
)

suppliers = Table(
    "suppliers",
    metadata,
    Column("supplier_id", String(20), primary_key=True),
    Column("name", String(100), nullable=False),
)

tiers = Table(
    "tiers",
    metadata,
    Column("tier", String(20), primary_key=True),
    Column("discount_pct", Numeric(5, 2), nullable=False),
)

items = Table(
    "items",
    metadata,
    Column("sku", String(40), primary_key=True),
    Column("description", String(200), nullable=False),
    Column("base_uom", String(4), nullable=False),
    Column("case_qty", Integer, nullable=False),
    Column("list_price", Money, nullable=False),
    Column("upc", String(20), unique=True),
    Column("supplier_id", ForeignKey("suppliers.supplier_id")),
    Column("vendor_part", String(40)),
    Column("standard_cost", Money),
)

customers = Table(
    "customers",
    metadata,
    Column("customer_id", String(20), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("tier", ForeignKey("tiers.tier"), nullable=False),
    Column("credit_limit", Money, nullable=False),
    Column("open_ar", Money, nullable=False, default=0),
    Column("credit_hold", Boolean, nullable=False, default=False),
    Column("allow_split", Boolean, nullable=False, default=False),
    Column("allow_backorder", Boolean, nullable=False, default=False),
    Column("default_warehouse", ForeignKey("warehouses.code"), nullable=False),
)

customer_items = Table(
    "customer_items",
    metadata,
    Column("customer_id", ForeignKey("customers.customer_id"), primary_key=True),
    Column("customer_part", String(40), primary_key=True),
    Column("sku", ForeignKey("items.sku"), nullable=False),
)

contract_prices = Table(
    "contract_prices",
    metadata,
    Column("customer_id", ForeignKey("customers.customer_id"), primary_key=True),
    Column("sku", ForeignKey("items.sku"), primary_key=True),
    Column("min_qty", Integer, primary_key=True),  # in the item's base unit
    Column("effective_from", Date, primary_key=True),
    Column("effective_to", Date, nullable=False),
    Column("price", Money, nullable=False),  # per base unit
)

inventory = Table(
    "inventory",
    metadata,
    Column("warehouse", ForeignKey("warehouses.code"), primary_key=True),
    Column("sku", ForeignKey("items.sku"), primary_key=True),
    Column("on_hand", Integer, nullable=False, default=0),
    Column("allocated", Integer, nullable=False, default=0),
    CheckConstraint("allocated <= on_hand AND allocated >= 0", name="ck_inventory_allocated"),
)

# --- purchasing --------------------------------------------------------------------------------

purchase_orders = Table(
    "purchase_orders",
    metadata,
    Column("po_number", String(20), primary_key=True),
    Column("supplier_id", ForeignKey("suppliers.supplier_id"), nullable=False),
    Column("order_date", Date, nullable=False),
    Column("status", String(12), nullable=False),
)

purchase_order_lines = Table(
    "purchase_order_lines",
    metadata,
    Column("po_number", ForeignKey("purchase_orders.po_number"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("sku", ForeignKey("items.sku"), nullable=False),
    Column("vendor_part", String(40)),
    Column("qty_ordered", Integer, nullable=False),
    Column("unit_price", Money, nullable=False),
    Column("qty_shipped", Integer, nullable=False, default=0),
    Column("qty_received", Integer, nullable=False, default=0),
    Column("qty_invoiced", Integer, nullable=False, default=0),  # raised by approved supplier invoices
)

# --- sales -------------------------------------------------------------------------------------

sales_orders = Table(
    "sales_orders",
    metadata,
    Column("order_id", String(20), primary_key=True),
    Column("customer_id", ForeignKey("customers.customer_id"), nullable=False),
    Column("customer_po", String(40), nullable=False),
    Column("order_date", Date, nullable=False),
    Column("status", String(12), nullable=False),  # BOOKED, HOLD, SHIPPED, INVOICED, CANCELLED
    Column("hold_codes", Text, nullable=False, default=""),  # comma-separated, "" = none
    Column("total", Money, nullable=False),
    _source_document(),
    Index("ix_sales_orders_customer_po", "customer_po", "customer_id"),  # a PO given before
    Index("ix_sales_orders_customer", "customer_id", "status"),  # a customer's open orders
)

sales_order_lines = Table(
    "sales_order_lines",
    metadata,
    Column("order_id", ForeignKey("sales_orders.order_id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("sku", ForeignKey("items.sku"), nullable=False),
    Column("uom", String(4), nullable=False),
    Column("qty_ordered", Integer, nullable=False),  # in uom
    Column("unit_price", Money, nullable=False),  # our price per uom
    Column("customer_unit_price", StatedPrice),  # the customer's price per uom, as sent
    Column("qty_allocated", Integer, nullable=False, default=0),  # base units
    Column("qty_backordered", Integer, nullable=False, default=0),  # base units
    Column("qty_shipped", Integer, nullable=False, default=0),  # base units
)

allocations = Table(
    "allocations",
    metadata,
    Column("order_id", String(20), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("warehouse", ForeignKey("warehouses.code"), primary_key=True),
    Column("qty", Integer, nullable=False),  # base units
    ForeignKeyConstraint(["order_id", "line_no"], ["sales_order_lines.order_id", "sales_order_lines.line_no"]),
)

shipments = Table(
    "shipments",
    metadata,
    Column("shipment_id", String(40), primary_key=True),  # ours: SH-000001
    Column("order_id", ForeignKey("sales_orders.order_id"), nullable=False),
    Column("warehouse", ForeignKey("warehouses.code"), nullable=False),
    Column("carrier", String(40)),
    Column("tracking", String(60)),
    Column("ship_date", Date, nullable=False),
    Column("partner_reference", String(40), nullable=False),  # the 3PL's shipment id (BSN02)
    Column("source_document", String(200)),
    # one ship confirmation may cover several orders: one shipment each
    UniqueConstraint("source_document", "order_id", name="uq_shipments_source"),
    UniqueConstraint("warehouse", "partner_reference", "order_id", name="uq_shipments_partner_reference"),
)

shipment_lines = Table(
    "shipment_lines",
    metadata,
    Column("shipment_id", ForeignKey("shipments.shipment_id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("order_line_no", Integer, nullable=False),
    Column("sku", ForeignKey("items.sku"), nullable=False),
    Column("qty", Integer, nullable=False),  # base units
)

ar_invoices = Table(
    "ar_invoices",
    metadata,
    Column("invoice_number", String(40), primary_key=True),  # ours: INV-000001
    Column("order_id", ForeignKey("sales_orders.order_id"), nullable=False),
    Column("customer_id", ForeignKey("customers.customer_id"), nullable=False),
    Column("invoice_date", Date, nullable=False),
    Column("total", Money, nullable=False),
    Column("shipment_id", ForeignKey("shipments.shipment_id")),  # what it bills
    Column("source_document", String(200)),
    UniqueConstraint("source_document", "order_id", name="uq_ar_invoices_source"),
    Index("ix_ar_invoices_order", "order_id"),  # what an open order has invoiced so far
)

ar_invoice_lines = Table(
    "ar_invoice_lines",
    metadata,
    Column("invoice_number", ForeignKey("ar_invoices.invoice_number"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("order_line_no", Integer, nullable=False),
    Column("sku", ForeignKey("items.sku"), nullable=False),
    Column("uom", String(4), nullable=False),
    Column("qty", Integer, nullable=False),  # in uom
    Column("unit_price", Money, nullable=False),  # per uom, as booked
    Column("amount", Money, nullable=False),
)

# --- supplier documents ------------------------------------------------------------------------
# Supplier document numbers are the supplier's, so they are keyed with the supplier. An ASN may
# ship against several POs: one inbound_asns row per (ASN, PO).

inbound_asns = Table(
    "inbound_asns",
    metadata,
    Column("supplier_id", ForeignKey("suppliers.supplier_id"), primary_key=True),
    Column("asn_number", String(40), primary_key=True),
    Column("po_number", ForeignKey("purchase_orders.po_number"), primary_key=True),
    Column("ship_date", Date),
    Column("carrier", String(40)),
    Column("tracking", String(60)),
    Column("status", String(12), nullable=False),  # ACCEPTED or HOLD
    Column("hold_codes", Text, nullable=False, default=""),  # comma-separated, "" = none
    Column("source_document", String(200)),
    UniqueConstraint("source_document", "po_number", name="uq_inbound_asns_source"),
)

inbound_asn_lines = Table(
    "inbound_asn_lines",
    metadata,
    Column("supplier_id", String(20), primary_key=True),
    Column("asn_number", String(40), primary_key=True),
    Column("po_number", String(20), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("po_line_no", Integer),
    Column("sku", ForeignKey("items.sku")),
    Column("vendor_part", String(40)),
    Column("qty_shipped", Integer, nullable=False),  # base units
    ForeignKeyConstraint(
        ["supplier_id", "asn_number", "po_number"],
        ["inbound_asns.supplier_id", "inbound_asns.asn_number", "inbound_asns.po_number"],
    ),
)

ap_invoices = Table(
    "ap_invoices",
    metadata,
    Column("supplier_id", ForeignKey("suppliers.supplier_id"), primary_key=True),
    Column("invoice_number", String(40), primary_key=True),
    Column("po_number", ForeignKey("purchase_orders.po_number"), nullable=False),
    Column("invoice_date", Date, nullable=False),
    Column("status", String(12), nullable=False),  # APPROVED or HOLD
    Column("hold_codes", Text, nullable=False, default=""),  # comma-separated, "" = none
    Column("lines_total", Money, nullable=False),
    Column("charges_total", Money, nullable=False, default=0),  # SAC charges
    Column("allowances_total", Money, nullable=False, default=0),  # SAC allowances
    Column("tax_total", Money, nullable=False, default=0),  # TXI
    Column("total", Money, nullable=False),  # as the supplier stated it (TDS)
    Column("terms", String(80)),  # ITD, as words: "2% 10 days, net 30"
    Column("terms_discount_pct", Numeric(5, 2)),
    Column("terms_discount_days", Integer),
    Column("terms_net_days", Integer),
    _source_document(),
)

ap_invoice_lines = Table(
    "ap_invoice_lines",
    metadata,
    Column("supplier_id", String(20), primary_key=True),
    Column("invoice_number", String(40), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("po_line_no", Integer),
    Column("sku", ForeignKey("items.sku")),
    Column("vendor_part", String(40)),
    Column("uom", String(4), nullable=False),
    Column("qty_invoiced", Integer, nullable=False),  # in uom
    Column("unit_price", StatedPrice, nullable=False),  # per uom, as the supplier invoiced it
    Column("amount", Money, nullable=False),
    ForeignKeyConstraint(["supplier_id", "invoice_number"], ["ap_invoices.supplier_id", "ap_invoices.invoice_number"]),
)

ap_invoice_charges = Table(
    "ap_invoice_charges",
    metadata,
    Column("supplier_id", String(20), primary_key=True),
    Column("invoice_number", String(40), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("kind", String(10), nullable=False),  # allowance, charge or tax
    Column("code", String(10)),  # SAC02 / TXI01
    Column("description", String(80)),
    Column("amount", Money, nullable=False),  # positive; the kind says which way it counts
    ForeignKeyConstraint(["supplier_id", "invoice_number"], ["ap_invoices.supplier_id", "ap_invoices.invoice_number"]),
)

# --- numbering ---------------------------------------------------------------------------------

erp_sequences = Table(
    "erp_sequences",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("next_value", Integer, nullable=False),
)
