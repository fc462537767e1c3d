"""The edges of the hub: formats, channels and the ERP. Each adapter exposes `register(registry)`."""
