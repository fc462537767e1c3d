"""XML orders: cXML OrderRequest, parsed without ever expanding entities or fetching DTDs."""


def register(registry) -> None:
    from adapters.xmldoc.reader import CxmlReader

    registry.add_reader(CxmlReader())
