"""X12 EDI: reading and validating interchanges (pyx12 maps), acknowledgments and outbound documents."""


def register(registry) -> None:
    from adapters.x12.acknowledgment import X12Acknowledger
    from adapters.x12.order_response import X12OrderResponseWriter
    from adapters.x12.reader import X12Reader

    registry.add_reader(X12Reader())
    registry.add_acknowledger("x12", X12Acknowledger())
    registry.add_order_response_writer("x12", X12OrderResponseWriter())
