"""Free-space guard: an upload is refused (507, with what to do) before it can fill the disk
that stores objects or the temporary folder where uploads are spooled and processed."""

from __future__ import annotations

import shutil
import tempfile

from backend.errors import InsufficientStorage
from backend.storage.base import ObjectStore
from backend.units import format_bytes

MB = 1024 * 1024
__all__ = ["MB", "InsufficientStorage", "SpaceGuard"]


class SpaceGuard:
    """Keeps `reserve` bytes free on the store's disk and the temporary folder."""

    def __init__(self, store: ObjectStore, reserve: int) -> None:
        self.store = store
        self.reserve = reserve

    def check(self, incoming: int = 0) -> None:
        """Refuse when writing `incoming` more bytes would leave less than the reserve free."""
        if self.reserve <= 0 and incoming <= 0:
            return
        places = {"temporary folder": shutil.disk_usage(tempfile.gettempdir()).free}
        stored = self.store.free_bytes()
        if stored is not None:
            places["storage"] = stored
        for place, free in places.items():
            if free - incoming < self.reserve:
                raise InsufficientStorage(
                    f"not enough free disk space for this upload on the server's {place} "
                    f"({format_bytes(free)} free, {format_bytes(self.reserve)} are kept in reserve)",
                    "Try again later, or ask an operator to free disk space (or lower "
                    "MIN_FREE_DISK_MB); nothing of this upload was kept.",
                )
