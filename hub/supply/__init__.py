"""Supplier documents: ship notices (ASNs) matched to Harbor's POs, invoices three-way matched."""
