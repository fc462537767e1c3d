"""The signed webhook: partners POST files to `/v1/inbound/{partner_id}` (see router.py)."""

from adapters.webhook.router import webhook_router


def register(registry) -> None:
    registry.add_router(webhook_router)
