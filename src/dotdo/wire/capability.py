"""`Capability`: what a verified capability token allows (`dotdo.wire.tokens`).

Apart from the tokens' signing and checking because every object's access layer names
capabilities at its start (`dotdo.core.access`), and a token is read only when a request
carries one (ADR 0036); `dotdo.wire.tokens` still exports it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dotdo.errors import Forbidden
from dotdo.remote.marks import SCOPES
from dotdo.remote.names import covers

__all__ = ["SCOPE_RANK", "Capability", "granted"]

SCOPE_RANK = {scope: i for i, scope in enumerate(SCOPES)}
"""Each scope's rank: a scope grants every scope of a lower or equal rank."""


def granted(methods: Iterable[str]) -> str:
    """The methods a token's `methods` caveat grants, as a refusal lists them (`borrow,
    return_`), so that a caller sees what the token is for on every surface."""
    return ", ".join(sorted(methods)) or "no method at all"


@dataclass(frozen=True)
class Capability:
    """What a verified token allows: the rights every caveat grants at once.

    `root` names the minted token the capability descends from (a digest of its first
    signature link, which no attenuation changes and which reveals nothing of the
    token): tokens attenuated from one token share it, so they share its rate budget."""

    target: str
    scope: str
    methods: frozenset[str] | None
    exp: int | None
    sub: str | None
    root: str = ""

    def grants(self, target: str | None, scope: str) -> bool:
        """Does this capability allow `scope` on the object named `target` (methods aside)?"""
        # "*" first: every request of an object without tokens asks, and it is most of them.
        allowed = self.target == "*" or covers(self.target, target)
        return allowed and SCOPE_RANK[scope] <= SCOPE_RANK[self.scope]

    def check_target(self, target: str | None) -> None:
        """Forbidden `token_wrong_target` unless this capability is for the object `target`
        (the tenant the request reached; None for an object whose name is not known): its
        own target, "*", or a tenant's thing object for that tenant (`covers`).

        The message names both: the holder can read its own token's target, and the tenant
        is in the request, so neither is news to the caller."""
        if self.target != "*" and not covers(self.target, target):
            if not target:  # no name to mint one for: only a token for every object reaches it
                reached, remedy = "an object with no name", "a token for '*' reaches it"
            else:
                reached, remedy = repr(target), f"mint or attenuate one for {target!r}"
            raise Forbidden(
                f"Capability token is for {self.target!r}, not {reached}: {remedy}, or send "
                f"this one to {self.target!r}",
                code="token_wrong_target",
            )

    def check_scope(self, scope: str, what: str) -> None:
        """Forbidden `token_scope` unless this capability grants `scope`, which `what` needs."""
        if SCOPE_RANK[scope] > SCOPE_RANK[self.scope]:
            raise Forbidden(
                f"{what} needs the {scope} scope; the token grants {self.scope}", code="token_scope"
            )

    def check(self, target: str | None, method: str, scope: str) -> None:
        """Forbidden (403) unless this capability allows `method` (needing `scope`) on `target`."""
        self.check_target(target)
        self.check_scope(scope, method)
        if self.methods is not None and method not in self.methods:
            raise Forbidden(
                f"Capability token does not grant {method}; it grants only {granted(self.methods)}",
                code="token_method",
            )
