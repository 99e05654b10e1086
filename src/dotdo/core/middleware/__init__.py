"""Middleware dotdo ships: CORS and request logging (DOCore installs both), and bearer-token
auth for an app's own routers (DOCore's routes go through the access layer instead)."""

from dotdo.core.middleware.auth import bearer_auth
from dotdo.core.middleware.cors import CorsPolicy, cors
from dotdo.core.middleware.logging import request_logger

__all__ = ["CorsPolicy", "bearer_auth", "cors", "request_logger"]
