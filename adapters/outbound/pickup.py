"""Delivery by pickup: the file waits in `<data dir>/outbox/<partner>/`, the partner's SFTP
`outbox/`. It is delivered when the partner deletes it there (the SFTP server tells the ledger)."""

from __future__ import annotations

import asyncio
import os

from hub.delivery import DeliveryFailed, Handover, Parcel


class PickupChannel:
    def __init__(self, settings, ledger):
        self.root = settings.outbox_dir

    async def send(self, parcel: Parcel) -> Handover:
        return await asyncio.to_thread(self.place, parcel)

    def place(self, parcel: Parcel) -> Handover:
        """Write the file so that the partner never sees half of it: a hidden draft, then a rename."""
        folder = self.root / parcel.partner_id
        try:
            folder.mkdir(parents=True, exist_ok=True)
            draft = folder / f".{parcel.filename}.part"
            draft.write_bytes(parcel.content)
            os.replace(draft, folder / parcel.filename)
        except OSError as exc:
            raise DeliveryFailed(f"could not put {parcel.filename} in {folder}: {exc.strerror or exc}", transient=True) from exc
        return Handover("ready")
