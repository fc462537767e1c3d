"""The reference ERP: its tables (schema), seed loader (seed) and gateway (gateway.ReferenceErp)."""


def register(registry) -> None:
    from adapters.erp.gateway import ReferenceErp

    registry.add_erp("reference", ReferenceErp)
