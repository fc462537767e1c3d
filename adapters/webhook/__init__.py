"""placeholder until its module lands."""


def register(registry) -> None:
    pass
