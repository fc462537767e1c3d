"""JSON orders: one order object, or an array of them."""


def register(registry) -> None:
    from adapters.jsondoc.reader import JsonReader

    registry.add_reader(JsonReader())
