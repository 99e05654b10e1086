"""When this instance of an object was built: a new instance means the runtime evicted
the old one (hibernation), which the hibernation tests must see happen."""

import time

from dotdo import rpc
from dotdo.core.namespace import reserved_attributes


class Lifetime:
    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        self._built_at = time.time()

    @rpc(scope="read")
    def built_at(self) -> float:
        return self._built_at

    @rpc(scope="read")
    def framework_attributes(self) -> dict:
        """The public instance attributes this object has, and those its framework classes
        declare (the names `self.<name> = ...` may not take)."""
        return {
            "set": sorted(name for name in vars(self) if not name.startswith("_")),
            "declared": sorted(reserved_attributes(type(self))),
        }
