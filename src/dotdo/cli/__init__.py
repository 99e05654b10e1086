"""The `dotdo` command: `new`, `dev`, `test`, `deploy` and `vendor`, in the spirit of
Cloudflare's `pywrangler` (workers-py), on click.

Every command works on the project in the current folder (its `wrangler.toml`,
`pyproject.toml` and `python_modules/`). A problem the user can fix is one line,
`dotdo: ...` (then, when the fix is an entry of the config, that entry as a snippet to
paste), and exit status 1.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import click

from dotdo.errors import LocalRuntimeError

__all__ = ["main"]

logger = logging.getLogger("dotdo.cli")


class _OneLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"dotdo: {record.getMessage()}"


def _setup_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    for name in ("dotdo.cli", "dotdo.localrt"):
        log = logging.getLogger(name)
        log.handlers[:] = [handler]
        log.setLevel(logging.INFO)
        log.propagate = False


def _parse_vars(pairs: tuple[str, ...]) -> dict[str, str]:
    found = {}
    for pair in pairs:
        name, eq, value = pair.partition("=")
        if not eq or not name:
            raise click.BadParameter(f"takes NAME=VALUE (got {pair!r})", param_hint="--var")
        found[name] = value
    return found


_PORT = click.IntRange(0, 65535)


class _Group(click.Group):
    """Turns LocalRuntimeError into `dotdo: <message>` and exit status 1."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except LocalRuntimeError as error:
            logger.error("%s", error)
            ctx.exit(1)


@click.group(cls=_Group)
@click.version_option(package_name="dotdo", prog_name="dotdo")
def main() -> None:
    """Build Python Durable Objects with dotdo: scaffold, serve locally, test, deploy."""
    _setup_logging()


def _add_token_commands() -> None:
    from dotdo.cli.tokens import token

    main.add_command(token)


_add_token_commands()


@main.command()
@click.argument("path", metavar="NAME")
def new(path: str) -> None:
    """Create the project NAME in a new folder: wrangler.toml, pyproject.toml, src/entry.py,
    tests/, README.md. NAME may be a path (`../apps/shop`, `.` for an empty current folder):
    the project is named by its last part and made there."""
    from dotdo.cli.scaffold import create_project

    given = Path(path)
    folder = (Path.cwd() / given).resolve() if given.name in ("", ".", "..") else Path.cwd() / given
    target = create_project(folder.name, folder.parent)
    # The command's own result, on stdout (diagnostics go to the `dotdo.cli` logger).
    click.echo(f"Created {target}. Next:\n  cd {path}\n  dotdo dev     # serve it locally")
    click.echo("  dotdo test    # run its tests")


@main.command()
@click.option(
    "--port",
    type=_PORT,
    default=8787,
    show_default=True,
    envvar="DOTDO_DEV_PORT",
    show_envvar=True,
    help="Port to listen on (0: any free one).",
)
@click.option("--ip", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--persist-to",
    type=click.Path(path_type=Path),
    help="State folder [default: .dotdo/state; .dotdo/configs/<config>-<hash>/state for another --config].",
)
@click.option(
    "--var", "var_pairs", multiple=True, metavar="NAME=VALUE", help="A variable for the worker's env."
)
@click.option("--no-watch", is_flag=True, help="Do not reload or restart on changes.")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "log", "info", "warn", "error", "none"]),
    default="info",
    show_default=True,
    help="wrangler's log level; `info` shows what the app writes to stdout and the requests.",
)
@click.option(
    "--config", type=click.Path(path_type=Path), help="Another wrangler config [default: wrangler.toml]."
)
@click.option(
    "--python-root", multiple=True, type=click.Path(path_type=Path), help="Extra folder on sys.path."
)
@click.option(
    "--registry",
    type=click.Path(path_type=Path),
    help="Join wrangler's dev registry in this folder (another local worker, such as the "
    "JavaScript front, then reaches the project's classes by script_name).",
)
def dev(
    port: int,
    ip: str,
    persist_to: Path | None,
    var_pairs: tuple[str, ...],
    no_watch: bool,
    log_level: str,
    config: Path | None,
    python_root: tuple[Path, ...],
    registry: Path | None,
) -> None:
    """Serve the project on the local runtime (real workerd, Durable Object SQLite, alarms,
    RPC). A save of the app's Python sources (the main module's folder) is reloaded into a
    new interpreter; a change to wrangler.toml, pyproject.toml, .dev.vars, .env, .env.local
    or python_modules/ restarts the runtime."""
    from dotdo.cli.devloop import serve
    from dotdo.localrt.project import Project
    from dotdo.localrt.server import ServerOptions, check_port_free

    project = Project.load(Path.cwd(), config)
    check_port_free(ip, port, hint="is another `dotdo dev` running? Stop it, or pass --port")
    options = ServerOptions(
        port=port,
        ip=ip,
        persist_to=persist_to.resolve() if persist_to else None,
        vars=_parse_vars(var_pairs),
        log_level=log_level,
        python_roots=tuple(root.resolve() for root in python_root),
        registry=registry.resolve() if registry else None,
    )
    sys.exit(serve(project, options, watch=not no_watch))


@main.command()
@click.option("--force", is_flag=True, help="Vendor even when python_modules/ is up to date.")
def vendor(force: bool) -> None:
    """Install the project's dependencies for Python Workers into python_modules/."""
    from dotdo.localrt.project import Project
    from dotdo.localrt.vendoring import vendor as vendor_project

    project = Project.load(Path.cwd())
    if not vendor_project(project, force=force):
        logger.info("python_modules/ is up to date")


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option(
    "--port",
    type=_PORT,
    envvar="DOTDO_TEST_PORT",
    show_envvar=True,
    help="Port of the tests' local runtime [default: any free one].",
)
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def test(port: int | None, pytest_args: tuple[str, ...]) -> None:
    """Vendor, then run the project's tests with pytest (other arguments go to pytest)."""
    from dotdo.localrt.project import Project
    from dotdo.localrt.server import check_port_free
    from dotdo.localrt.vendoring import vendor as vendor_project

    project = Project.load(Path.cwd())
    project.check()
    if port is not None:  # one line now, not an error in every test that asks for the runtime
        check_port_free("127.0.0.1", port, hint="is a `dotdo dev` serving it? Pass another --port")
    vendor_project(project)
    env = dict(os.environ)
    if port is not None:
        # The plugin reads it (as a DOTDO_TEST_PORT set for a bare `pytest` run): given in
        # the environment, not as `--dotdo-port`, a run whose pytest does not load the
        # plugin is not refused for an unknown option.
        env["DOTDO_TEST_PORT"] = str(port)
    sys.exit(subprocess.call([sys.executable, "-m", "pytest", *pytest_args], env=env))


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("wrangler_args", nargs=-1, type=click.UNPROCESSED)
def deploy(wrangler_args: tuple[str, ...]) -> None:
    """Vendor, then run `wrangler deploy` with the given arguments
    (`dotdo deploy --dry-run --outdir dist` builds offline)."""
    from dotdo.localrt.locking import locked, project_lock
    from dotdo.localrt.node import check_node, npm_packages
    from dotdo.localrt.project import Project
    from dotdo.localrt.vendoring import vendor as vendor_project

    project = Project.load(Path.cwd())
    project.check()
    node = check_node()
    node_modules = npm_packages(project.root)
    vendor_project(project)
    wrangler = node_modules / "wrangler" / "bin" / "wrangler.js"
    command = [node, str(wrangler), "deploy", *wrangler_args]
    env = {**os.environ, "WRANGLER_SEND_METRICS": os.environ.get("WRANGLER_SEND_METRICS", "false")}
    # wrangler reads python_modules/ whole: not while a `dotdo dev` of the project re-vendors.
    with locked(project_lock(project.root)):
        sys.exit(subprocess.call(command, cwd=project.root, env=env))
