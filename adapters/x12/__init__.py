"""X12 EDI: reading and validating interchanges (pyx12 maps), acknowledgments and outbound documents."""


def register(registry) -> None:
    from adapters.x12.acknowledgment import X12Acknowledger
    from adapters.x12.invoice import X12InvoiceWriter
    from adapters.x12.order_response import X12OrderResponseWriter
    from adapters.x12.reader import X12Reader
    from adapters.x12.ship_notice import X12ShipNoticeWriter

    registry.add_reader(X12Reader())
    registry.add_acknowledger("x12", X12Acknowledger())
    registry.add_document_writer("x12-855", X12OrderResponseWriter())
    registry.add_document_writer("x12-856", X12ShipNoticeWriter())
    registry.add_document_writer("x12-810", X12InvoiceWriter())
