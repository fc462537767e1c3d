"""Delimited text (CSV) orders: one row per order line, rows grouped into orders by a column."""


def register(registry) -> None:
    from adapters.delimited.reader import DelimitedReader

    registry.add_reader(DelimitedReader())
