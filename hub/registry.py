"""Finds adapters through entry points, so a third party adds one without touching the core.

Each entry point in the groups below names a `register(registry)` function (see pyproject.toml).
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from hub.errors import ConfigurationError
from hub.ports import DocumentWriter, FormatReader

ENTRY_POINT_GROUPS = ("partnerhub.readers", "partnerhub.erp", "partnerhub.channels")


class Registry:
    def __init__(self) -> None:
        self.readers: dict[str, FormatReader] = {}
        self.acknowledgers: dict[str, Any] = {}
        self.document_writers: dict[str, DocumentWriter] = {}  # by outbound kind: x12-855, x12-856 ...
        self.erps: dict[str, Any] = {}
        self.listeners: dict[str, Any] = {}  # inbound servers started by `hub serve` (sftp)
        self.routers: list[Any] = []  # HTTP routes a channel adds to the API (the webhook)
        self.channels: dict[str, Any] = {}  # outbound delivery methods: pickup, https

    def add_reader(self, reader: FormatReader) -> None:
        self.readers[reader.name] = reader

    def add_acknowledger(self, format_name: str, acknowledger: Any) -> None:
        self.acknowledgers[format_name] = acknowledger

    def add_document_writer(self, kind: str, writer: DocumentWriter) -> None:
        self.document_writers[kind] = writer

    def add_erp(self, name: str, factory: Any) -> None:
        self.erps[name] = factory

    def add_listener(self, name: str, factory: Any) -> None:
        self.listeners[name] = factory

    def add_router(self, router_factory: Any) -> None:
        self.routers.append(router_factory)

    def add_channel(self, method: str, channel: Any) -> None:
        self.channels[method] = channel

    def reader(self, name: str) -> FormatReader:
        try:
            return self.readers[name]
        except KeyError:
            raise ConfigurationError(f"no reader for format {name!r}; installed: {sorted(self.readers)}") from None

    def sniff(self, raw: bytes) -> FormatReader | None:
        """The reader whose format `raw` looks like; X12 is tried first (its ISA is unambiguous)."""
        for name in sorted(self.readers, key=lambda n: n != "x12"):
            if self.readers[name].sniff(raw):
                return self.readers[name]
        return None

    def erp(self, name: str, engine: Any) -> Any:
        try:
            return self.erps[name](engine)
        except KeyError:
            raise ConfigurationError(f"no ERP adapter named {name!r}; installed: {sorted(self.erps)}") from None


def load_registry() -> Registry:
    registry = Registry()
    for group in ENTRY_POINT_GROUPS:
        for ep in entry_points(group=group):
            ep.load()(registry)
    return registry
