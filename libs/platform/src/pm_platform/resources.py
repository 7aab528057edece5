"""Typed slots for a service's live resources in its runtime, so they are discoverable and type-checked."""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class ResourceKey(Generic[T]):
    """A typed slot for one of a service's resources in its :class:`Runtime` (as aiohttp's ``AppKey``)::

    OBJECT_STORE = ResourceKey("object_store", ObjectStore)
    rt[OBJECT_STORE] = store          # in the resource's start-up
    store = rt[OBJECT_STORE]          # typed ObjectStore
    """

    def __init__(self, name: str, kind: type[T]) -> None:
        self.name = name
        self.kind = kind

    def __repr__(self) -> str:
        return f"<ResourceKey {self.name}: {self.kind.__name__}>"
