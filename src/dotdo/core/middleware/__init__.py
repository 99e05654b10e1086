"""Middleware shipped with DOCore: CORS, bearer-token auth, request logging."""

from dotdo.core.middleware.auth import bearer_auth
from dotdo.core.middleware.cors import CorsPolicy, cors
from dotdo.core.middleware.logging import request_logger

__all__ = ["CorsPolicy", "bearer_auth", "cors", "request_logger"]
