"""Capability tokens: minting, verification, narrowing and every way a token is refused."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dotdo import Forbidden, Unauthorized
from dotdo.wire.tokens import TokenError, _canonical, _decode, _encode, attenuate, inspect, mint, verify

SECRET = "s3cret"


def test_mint_and_verify() -> None:
    token = mint(SECRET, target="acme", scope="write", sub="alice", ttl_seconds=60)
    capability = verify(token, SECRET)
    assert (capability.target, capability.scope, capability.sub) == ("acme", "write", "alice")
    capability.check("acme", "set", "write")
    capability.check("acme", "get", "read")
    with pytest.raises(Forbidden) as scope:
        capability.check("acme", "wipe", "admin")
    assert scope.value.code == "token_scope"
    with pytest.raises(Forbidden) as target:
        capability.check("other", "get", "read")
    assert target.value.code == "token_wrong_target"
    # both names: the token's own target and the tenant the request reached
    assert "'acme'" in str(target.value) and "'other'" in str(target.value)


def test_a_tenants_token_is_one_for_its_own_thing_objects() -> None:
    """A thing's object belongs to its tenant (ADR 0054): acme's token was refused at
    "acme/Project/p1" (`token_wrong_target`) and could not be narrowed to it (`token_widened`)."""
    token = mint(SECRET, target="acme", scope="write", ttl_seconds=60)
    verify(token, SECRET).check("acme/Project/p1", "get", "read")
    narrow = verify(attenuate(token, target="acme/Project/p1"), SECRET)
    assert narrow.target == "acme/Project/p1"
    narrow.check("acme/Project/p1", "get", "read")
    for elsewhere in ("acme", "acme/Project/p2", "globex/Project/p1", "Project/p1"):
        with pytest.raises(Forbidden) as refused:
            narrow.check(elsewhere, "get", "read")
        assert refused.value.code == "token_wrong_target", elsewhere
    for foreign in ("globex/Project/p1", "Project/p1", None):
        with pytest.raises(Forbidden) as refused:
            verify(token, SECRET).check(foreign, "get", "read")
        assert refused.value.code == "token_wrong_target", foreign
    with pytest.raises(Forbidden) as nameless:
        verify(token, SECRET).check(None, "get", "read")
    assert "a token for '*' reaches it" in str(nameless.value)  # not "mint one for" no name
    assert verify(token, SECRET).grants("acme/Project/p1", "write")
    assert not verify(token, SECRET).grants("globex/Project/p1", "read")


def test_attenuation_narrows_without_the_secret() -> None:
    token = mint(SECRET, target="*", scope="admin", ttl_seconds=600)
    narrow = attenuate(attenuate(token, target="acme"), scope="read", methods=["get", "list"], ttl_seconds=60)
    capability = verify(narrow, SECRET)
    assert capability.target == "acme" and capability.scope == "read"
    assert capability.methods == frozenset({"get", "list"})
    with pytest.raises(Forbidden) as method:
        capability.check("acme", "count", "read")
    assert method.value.code == "token_method"
    # what it grants, as a route's refusal says it: "does not grant count" alone did not
    assert method.value.message == "Capability token does not grant count; it grants only get, list"


@pytest.mark.parametrize(
    "widen",
    [
        {"scope": "admin"},
        {"target": "other"},
        {"target": "other/Customer/c1"},  # another tenant's thing
        {"target": "Customer/c1"},  # a thing of no tenant
        {"target": "*"},
        {"methods": ["get", "set"]},
        {"ttl_seconds": 10_000},
        {"sub": "mallory"},
    ],
)
def test_a_caveat_cannot_widen(widen: dict[str, object]) -> None:
    token = attenuate(mint(SECRET, target="acme", scope="read", sub="alice", ttl_seconds=60), methods=["get"])
    with pytest.raises(Forbidden) as caught:
        verify(attenuate(token, **widen), SECRET)  # type: ignore[arg-type]
    assert caught.value.code == "token_widened"


def test_refusals() -> None:
    token = mint(SECRET, target="acme", scope="read")
    prefix, body, signature = token.split(".")
    # Its first character changed: six bits of the MAC's first byte, never the same token (a
    # signature whose last two characters were already "AA", 1 in ~1,000, passed unchanged).
    tampered = ("B" if signature[0] == "A" else "A") + signature[1:]
    cases = {
        "token_malformed": ["", "nope", "dotdo1.x", f"other.{body}.{signature}", f"{prefix}.!!!.{signature}"],
        "token_invalid": [mint("other-secret"), f"{prefix}.{body}.{tampered}"],
    }
    for code, tokens in cases.items():
        for bad in tokens:
            with pytest.raises(TokenError) as caught:
                verify(bad, SECRET)
            assert caught.value.code == code and caught.value.status == 401
    with pytest.raises(Unauthorized) as expired:
        verify(mint(SECRET, ttl_seconds=-1), SECRET)
    assert expired.value.code == "token_expired"
    # dropping the narrowing caveat (keeping the narrowed token's signature) breaks the chain
    wide = mint(SECRET, scope="admin")
    narrow = attenuate(wide, scope="read")
    with pytest.raises(TokenError) as dropped:
        verify(f"{prefix}.{wide.split('.')[1]}.{narrow.split('.')[2]}", SECRET)
    assert dropped.value.code == "token_invalid"


def test_attenuations_share_the_root_of_their_token_and_the_root_reveals_nothing() -> None:
    token = mint(SECRET, target="acme", scope="admin", ttl_seconds=600)
    narrow = attenuate(attenuate(token, scope="read"), methods=["get"])
    root = verify(token, SECRET).root
    assert verify(narrow, SECRET).root == root and len(root) == 32
    assert verify(mint(SECRET, target="acme", scope="admin", ttl_seconds=601), SECRET).root != root
    assert root not in token and root not in narrow  # a rate key may be logged: it is no part of a token


def test_inspect_reads_a_token_without_the_secret_and_trusts_nothing() -> None:
    token = attenuate(mint(SECRET, target="acme", scope="write", ttl_seconds=60, sub="ada"), methods=["get"])
    seen = inspect(token, now=0)
    assert {key: seen[key] for key in ("target", "scope", "methods", "sub", "expired", "widened")} == {
        "target": "acme",
        "scope": "write",
        "methods": ["get"],
        "sub": "ada",
        "expired": False,
        "widened": None,
    }
    assert len(seen["caveats"]) == 2 and seen["exp"] == seen["caveats"][0]["exp"]
    assert inspect(token, now=seen["exp"])["expired"] is True
    assert inspect(attenuate(token, scope="admin"))["widened"] == "caveat 2 widens the scope"
    assert inspect(mint("another secret", scope="admin"))["scope"] == "admin"  # no signature check
    with pytest.raises(TokenError) as malformed:
        inspect("dotdo1.x")
    assert malformed.value.code == "token_malformed"


def test_mint_refuses_what_no_token_could_grant() -> None:
    for bad in ({"scope": "root"}, {"target": ""}):
        with pytest.raises(ValueError):
            mint(SECRET, **bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        mint("", target="acme")


def test_every_way_of_minting_checks_the_target_alike() -> None:
    # The command checked a target and the Python functions took any string: a token for a
    # name no object can have was refused by every object only when it was used.
    held = mint(SECRET, target="*", scope="admin")
    for bad in ("ACME", "acme.", "a*", "é", " acme", "acme/x", "@acme", "Order/a/b", "", "-acme"):
        with pytest.raises(ValueError) as minted:
            mint(SECRET, target=bad)
        assert "'*'" in str(minted.value) and "Type/id" in str(minted.value), bad
        with pytest.raises(ValueError):
            attenuate(held, target=bad)
    for good in ("acme", "Order/o-1", "*"):
        assert verify(mint(SECRET, target=good), SECRET).target == good
        assert verify(attenuate(held, target=good), SECRET).target == good


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


@given(
    st.dictionaries(st.sampled_from(["target", "scope", "methods", "exp", "sub"]), JSON_VALUES, max_size=5)
)
def test_a_caveat_chained_by_a_token_holder_is_refused_cleanly_or_well_formed(caveat: dict[str, Any]) -> None:
    # No secret is needed to chain a caveat, so its values are anybody's input.
    held = mint(SECRET, target="acme", scope="write", ttl_seconds=600)
    caveats, signature = _decode(held)
    crafted = _encode([*caveats, caveat], hmac.new(signature, _canonical(caveat), hashlib.sha256).digest())
    try:
        capability = verify(crafted, SECRET)
    except (TokenError, Forbidden) as refused:
        assert refused.code in ("token_malformed", "token_widened", "token_expired")
        return
    assert capability.target == "acme" and capability.scope in ("read", "write")
    assert capability.sub is None or isinstance(capability.sub, str)
    assert capability.methods is None or all(isinstance(m, str) for m in capability.methods)


def test_a_subject_is_never_set_or_changed_by_attenuation() -> None:
    nobody = mint(SECRET, target="acme", scope="approve", ttl_seconds=60)
    alice = mint(SECRET, target="acme", scope="approve", ttl_seconds=60, sub="alice")
    for held, named in ((nobody, "alice"), (alice, "mallory")):
        with pytest.raises(Forbidden) as made:
            attenuate(held, sub=named)
        assert made.value.code == "token_widened"
        # chained by hand (no secret needed): refused when the token is read
        caveats, signature = _decode(held)
        caveat = {"sub": named}
        link = hmac.new(signature, _canonical(caveat), hashlib.sha256).digest()
        crafted = _encode([*caveats, caveat], link)
        with pytest.raises(Forbidden) as read:
            verify(crafted, SECRET)
        assert read.value.code == "token_widened"
        assert inspect(crafted)["widened"] == "caveat 1 widens the subject"
    assert verify(attenuate(alice, sub="alice", scope="read"), SECRET).sub == "alice"
    assert verify(attenuate(nobody, scope="read"), SECRET).sub is None
