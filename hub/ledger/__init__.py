"""The hub's own tables: what came in, where each document stands, and what went out."""
