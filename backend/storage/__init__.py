"""Object storage: a local folder (embedded default) or any S3-compatible store."""

from backend.storage.base import ObjectInfo, ObjectStore, ObjectWriter, StoredObject, check_key
from backend.storage.factory import create_store

__all__ = ["ObjectInfo", "ObjectStore", "ObjectWriter", "StoredObject", "check_key", "create_store"]
