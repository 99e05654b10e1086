"""The local runtime: a project served on real workerd (wrangler's dev stack) with Python
on the npm `pyodide` package, Durable Object SQLite, alarms and RPC included.

Its JavaScript (`js/`), the host's Python stand-ins (`python/`), the pinned npm
packages (`npm/`) and the recorded wasm modules (`recorded/`) ship as package data;
the modules here check and install what it needs and run it. Used by the `dotdo`
command and by `dotdo.testing`; see docs/architecture/decisions/0001-local-runtime.md.
"""

from dotdo.localrt.node import cache_dir, check_node, npm_packages
from dotdo.localrt.project import Binding, Project
from dotdo.localrt.server import Server, ServerOptions, prepare
from dotdo.localrt.vendoring import vendor

__all__ = [
    "Binding",
    "Project",
    "Server",
    "ServerOptions",
    "cache_dir",
    "check_node",
    "npm_packages",
    "prepare",
    "vendor",
]
