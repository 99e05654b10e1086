"""When this instance of an object was built: a new instance means the runtime evicted
the old one (hibernation), which the hibernation tests must see happen."""

import time

from dotdo import rpc


class Lifetime:
    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        self._built_at = time.time()

    @rpc(scope="read")
    def built_at(self) -> float:
        return self._built_at
