"""`dotdo token mint / attenuate / inspect`: capability tokens from the shell, for
operators and scripts (the functions of `dotdo.wire.tokens`, docs/api.md "Tokens").

`mint`'s secret is `--secret`, else the `DOTDO_SECRET` environment variable, else, in a
project's folder (one with a `wrangler.toml`), the `DOTDO_SECRET` of its `.dev.vars` (or,
without one, of `.env`): the secret `dotdo dev` serves with, read as wrangler reads it
(`dotdo.localrt.devvars`).
`DOTDO_SECRET` is the name the deployed Worker reads it by (`wrangler secret put
DOTDO_SECRET`). A token is printed on stdout alone, so `TOKEN=$(dotdo token mint ...)`
works; `inspect` prints JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from dotdo.errors import Forbidden, TokenError
from dotdo.remote.marks import SCOPES
from dotdo.wire.tokens import attenuate, inspect, mint

__all__ = ["token"]


SECRET = "DOTDO_SECRET"


def _project_secret(folder: Path) -> str | None:
    """`DOTDO_SECRET` from the local values of the project in `folder` (its `.dev.vars`, or
    `.env` and `.env.local` when it has none: `local_vars_files`), or None when `folder` has
    no `wrangler.toml`, the project no such file, or the files no (or an empty) secret."""
    from dotdo.localrt.devvars import DEV_VARS, read_local_vars

    config = folder / "wrangler.toml"
    if not config.is_file():
        return None
    try:
        read = read_local_vars(config)
    except OSError as error:
        raise click.UsageError(f"cannot read the project's local values: {error}") from error
    # The file whose value wrangler serves: the last that sets it.
    source, found = next(((f, v[SECRET]) for f, v in reversed(read) if SECRET in v), (None, None))
    if source is not None and found and "$" in found and source.name != DEV_VARS:
        # wrangler expands `$NAME` in a .env file's values (dotenv-expand) and serves what
        # that makes: a token signed with the text as written would not verify there.
        raise click.UsageError(
            f"DOTDO_SECRET in {source.name} holds '$', which wrangler's dev expands as a "
            "variable: pass --secret, or use a secret without '$'"
        )
    return found or None


def _ttl(ttl: int | None, no_expiry: bool) -> int | None:
    if no_expiry and ttl is not None:
        raise click.UsageError("--ttl and --no-expiry exclude each other")
    if ttl is not None and ttl < 1:
        raise click.BadParameter("is at least 1 second", param_hint="--ttl")
    return None if no_expiry else ttl


@click.group()
def token() -> None:
    """Mint, narrow and read capability tokens (docs/api.md, "Tokens")."""


@token.command("mint")
@click.option(
    "--secret",
    envvar=SECRET,
    help="The app's DOTDO_SECRET [default: the DOTDO_SECRET environment variable, else, in a "
    "project's folder, DOTDO_SECRET in its .dev.vars (or .env, as dotdo dev reads them)].",
)
@click.option(
    "--target",
    default=None,
    help="The tenant (the object's name), or '*' spelled out for every tenant. Required.",
)
@click.option("--scope", type=click.Choice(SCOPES), default="read", show_default=True)
@click.option("--method", "methods", multiple=True, help="Limit to this RPC method (repeatable).")
@click.option("--ttl", type=int, default=None, help="Lifetime in seconds (default 3600).")
@click.option("--no-expiry", is_flag=True, help="A token that never expires.")
@click.option("--sub", default=None, help="The holder's name, for logs and the app.")
def mint_command(
    secret: str | None,
    target: str | None,
    scope: str,
    methods: tuple[str, ...],
    ttl: int | None,
    no_expiry: bool,
    sub: str | None,
) -> None:
    """Print a new token signed with the secret, for the tenant `--target` names.

    The secret is --secret, else the DOTDO_SECRET environment variable, else (run in the
    project's folder) DOTDO_SECRET in the .dev.vars (or .env) that `dotdo dev` serves with."""
    secret = secret or _project_secret(Path.cwd())
    if not secret:  # click's "Missing option '--secret'" would not name the variable
        raise click.UsageError(
            "no secret: pass --secret, set DOTDO_SECRET, or run this in the project's folder "
            "with DOTDO_SECRET in its .dev.vars or .env (the app's secret)"
        )
    if target is None:  # every tenant is a choice to make, never a default to fall into
        raise click.UsageError(
            "no --target: name the tenant the token is for (--target acme), "
            "or spell out --target '*' for a token good for every tenant"
        )
    lifetime = _ttl(3600 if ttl is None and not no_expiry else ttl, no_expiry)
    try:
        click.echo(mint(secret, target, scope, list(methods) or None, lifetime, sub))
    except ValueError as error:
        raise click.UsageError(str(error)) from error


@token.command("attenuate")
@click.argument("token_text", metavar="TOKEN")
@click.option("--target", default=None, help="Narrow to this tenant.")
@click.option("--scope", type=click.Choice(SCOPES), default=None, help="Narrow to this scope.")
@click.option("--method", "methods", multiple=True, help="Narrow to this RPC method (repeatable).")
@click.option("--ttl", type=int, default=None, help="Expire this many seconds from now.")
@click.option("--sub", default=None, help="Only the token's own subject (attenuation keeps it).")
def attenuate_command(
    token_text: str,
    target: str | None,
    scope: str | None,
    methods: tuple[str, ...],
    ttl: int | None,
    sub: str | None,
) -> None:
    """Print a narrower token made from TOKEN (no secret needed)."""
    try:
        narrower = attenuate(token_text, target, scope, list(methods) or None, _ttl(ttl, False), sub)
    except Forbidden as error:
        raise click.UsageError(f"{error.message} ({error.code})") from error
    except (TokenError, ValueError) as error:
        raise click.UsageError(str(error)) from error
    # A caveat asking for more than the token gives makes a token every object refuses;
    # printing it would hand the caller a token that fails only when it is used.
    widened = inspect(narrower)["widened"]
    if widened is not None:
        refused = "a token only narrows, and this one would be refused (token_widened)"
        raise click.UsageError(f"{widened}: {refused}")
    click.echo(narrower)


@token.command("inspect")
@click.argument("token_text", metavar="TOKEN")
def inspect_command(token_text: str) -> None:
    """Print what TOKEN says, as JSON, without checking its signature."""
    try:
        click.echo(json.dumps(inspect(token_text), indent=2, sort_keys=True))
    except TokenError as error:
        raise click.UsageError(str(error)) from error
