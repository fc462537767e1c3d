"""Fulfilment: a 3PL's ship confirmations, and the ship notices and invoices we send customers."""
