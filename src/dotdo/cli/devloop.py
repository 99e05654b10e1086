"""`dotdo dev`: serve the project, reload the app or restart on change, re-vendor when
`pyproject.toml` changes, and start the runtime again when it dies on its own.

The server (`dotdo/localrt/js/server.mjs`) prints its own state: "Ready on ..." once
Python and the app are loaded, or the app's traceback. This loop only decides when
to restart it.
"""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

from dotdo.errors import LocalRuntimeError
from dotdo.localrt.project import Project
from dotdo.localrt.revive import RestartPolicy, revive
from dotdo.localrt.server import Server, ServerOptions, claim_host, generated_dirs, prepare
from dotdo.localrt.vendoring import tree_fingerprint, vendor
from dotdo.localrt.watch import Kind, Watcher, WatchPlan

__all__ = ["serve"]

logger = logging.getLogger("dotdo.cli")


def serve(project: Project, options: ServerOptions, *, watch: bool) -> int:
    """Run the dev server until interrupted; the exit status of the command."""
    # SIGTERM ends the command as Ctrl-C does: through the `finally` that stops the server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # And SIGINT always does: a command started in the background by a shell without job
    # control inherits SIGINT ignored (POSIX), and Python then leaves it ignored, so an
    # interrupt sent to it later (a script's `kill -INT`, a test's) was never seen.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    host, state = generated_dirs(project)
    with claim_host(options.out or host):
        return _serve(
            project, options, watch=watch, ignored=[options.persist_to or state, options.out or host]
        )


def _serve(project: Project, options: ServerOptions, *, watch: bool, ignored: list[Path]) -> int:
    node, node_modules = prepare(project)
    server = Server(project, options, node=node, node_modules=node_modules)
    restarts = RestartPolicy()
    if not watch:
        server.start()
        try:
            while True:
                assert server.process is not None
                server.process.wait()
                if (status := revive(server, restarts, control=False, log=logger)) is not None:
                    return status
        except KeyboardInterrupt:
            return 0
        finally:
            server.stop()
    plan = WatchPlan.for_project(project, extra_sources=options.python_roots, ignored=ignored)
    watcher = Watcher(plan)
    watcher.start()
    server.start(control=True)
    modules_seen = tree_fingerprint(project.python_modules)
    try:
        while True:
            batch = watcher.next_batch(timeout=1.0)
            # A runtime started again still has the batch handled: a pyproject change
            # vendors, and it restarts on the new tree rather than running the stale one.
            if (
                not server.running()
                and (status := revive(server, restarts, control=True, log=logger)) is not None
            ):
                return status or 1  # a watching server never ends by itself
            if batch is None:
                continue
            kinds = {kind for kind, _ in batch}
            if Kind.PYPROJECT in kinds or Kind.CONFIG in kinds:
                try:
                    project = Project.load(project.root, project.config)
                    if Kind.PYPROJECT in kinds:
                        vendor(project)
                except LocalRuntimeError as error:
                    logger.error("%s", error)
                    continue
            modules_now = tree_fingerprint(project.python_modules)
            if kinds == {Kind.PYTHON_MODULES} and modules_now == modules_seen:
                continue  # our own vendoring, already part of the last restart
            modules_seen = modules_now
            if plan.reloadable(batch):
                server.reload(path for _, path in batch)
            else:
                server.restart(path for _, path in batch)
    except KeyboardInterrupt:
        return 0
    finally:
        watcher.stop()
        server.stop()
