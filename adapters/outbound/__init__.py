"""Outbound channels: how the outbox reaches a partner (`delivery.method` in partners.yaml).

    pickup  the file is left in the partner's pickup folder (its SFTP `outbox/`)
    https   the file is POSTed to the partner's URL, signed with its webhook secret
"""

from adapters.outbound.https import HttpsChannel
from adapters.outbound.pickup import PickupChannel


def register(registry) -> None:
    registry.add_channel("pickup", PickupChannel)
    registry.add_channel("https", HttpsChannel)
