from __future__ import annotations

import pytest

from dotdo.worker import InvalidTenant, tenant_from_host


@pytest.mark.parametrize(
    ("host", "tenant"),
    [
        ("acme.api.example.com", "acme"),
        ("acme.localhost", "acme"),
        ("Acme.Example.com", "acme"),
        ("a-1.example.com.", "a-1"),
        ("localhost", "default"),
        ("127.0.0.1", "default"),
        ("[::1]", "default"),
        ("::1", "default"),
        ("", "default"),
        ("x" * 63 + ".example.com", "x" * 63),
    ],
)
def test_tenant_from_host(host: str, tenant: str) -> None:
    assert tenant_from_host(host) == tenant


@pytest.mark.parametrize("host", ["a_b.example.com", "x" * 64 + ".example.com", ".example.com"])
def test_invalid_tenants(host: str) -> None:
    with pytest.raises(InvalidTenant):
        tenant_from_host(host)
