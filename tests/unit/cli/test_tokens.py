"""`dotdo token`: the shell's way to the token functions (docs/api.md, "Tokens")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from dotdo.cli import main
from dotdo.wire.tokens import verify


def test_mint_attenuate_inspect_round_trip() -> None:
    runner = CliRunner()
    minted = runner.invoke(
        main,
        ["token", "mint", "--target", "acme", "--scope", "write", "--sub", "alice"],
        env={"DOTDO_SECRET": "s"},
    )
    assert minted.exit_code == 0, minted.output
    token = minted.output.strip()
    assert verify(token, "s").scope == "write"
    narrowed = runner.invoke(main, ["token", "attenuate", token, "--scope", "read", "--method", "get"])
    assert narrowed.exit_code == 0, narrowed.output
    capability = verify(narrowed.output.strip(), "s")
    assert (capability.target, capability.scope, capability.sub) == ("acme", "read", "alice")
    shown = runner.invoke(main, ["token", "inspect", narrowed.output.strip()])
    assert json.loads(shown.output)["methods"] == ["get"]


def test_mistakes_are_usage_errors_not_tracebacks() -> None:
    runner = CliRunner()
    for args, env in (
        (["token", "mint"], {}),  # no secret
        (["token", "mint", "--target", "a", "--scope", "root"], {"DOTDO_SECRET": "s"}),
        (["token", "mint", "--target", "a", "--ttl", "0"], {"DOTDO_SECRET": "s"}),
        (["token", "mint", "--target", "a", "--ttl", "5", "--no-expiry"], {"DOTDO_SECRET": "s"}),
        (["token", "inspect", "not-a-token"], {}),
        (["token", "attenuate", "not-a-token", "--scope", "read"], {}),
    ):
        result = runner.invoke(main, args, env={"DOTDO_SECRET": "", **env})
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output


def test_a_token_without_expiry() -> None:
    result = CliRunner().invoke(
        main, ["token", "mint", "--target", "*", "--no-expiry", "--scope", "admin"], env={"DOTDO_SECRET": "s"}
    )
    assert verify(result.output.strip(), "s").exp is None


def test_attenuating_to_more_rights_is_refused_instead_of_printed() -> None:
    """A widened token is refused by every object (403 `token_widened`); the command says so
    at once rather than print it (it printed one, exit 0)."""
    runner = CliRunner()
    minted = runner.invoke(
        main, ["token", "mint", "--target", "a", "--scope", "read"], env={"DOTDO_SECRET": "s"}
    )
    widened = runner.invoke(main, ["token", "attenuate", minted.output.strip(), "--scope", "admin"])
    assert widened.exit_code == 2, widened.output
    assert "caveat 1 widens the scope: a token only narrows" in widened.output
    assert "dotdo1." not in widened.output


def test_mint_without_a_secret_names_the_ways_to_give_one(tmp_path: Path) -> None:
    refused = _mint(tmp_path)
    assert refused.exit_code == 2
    assert "pass --secret, set DOTDO_SECRET, or run this in the project's folder" in refused.output


def test_mint_needs_a_target_and_every_tenant_is_spelled_out() -> None:
    # A token for every tenant was what a forgotten --target made.
    runner = CliRunner()
    refused = runner.invoke(main, ["token", "mint", "--scope", "admin"], env={"DOTDO_SECRET": "s"})
    assert refused.exit_code == 2 and "dotdo1." not in refused.output
    assert "no --target" in refused.output and "--target '*'" in refused.output
    everywhere = runner.invoke(main, ["token", "mint", "--target", "*"], env={"DOTDO_SECRET": "s"})
    assert everywhere.exit_code == 0, everywhere.output
    assert verify(everywhere.output.strip(), "s").target == "*"
    one = runner.invoke(main, ["token", "mint", "--target", "acme"], env={"DOTDO_SECRET": "s"})
    capability = verify(one.output.strip(), "s")
    assert (capability.target, capability.scope) == ("acme", "read")
    assert capability.exp is not None  # an hour, by default


def test_a_target_no_object_can_have_is_a_usage_error() -> None:
    # Each was printed as a token every object then refused (token_wrong_target).
    runner = CliRunner()
    minted = runner.invoke(main, ["token", "mint", "--target", "acme"], env={"DOTDO_SECRET": "s"})
    for target in ("ACME", "acme.", "a*", "é", " acme", "acme/x", "@acme", "Order/a/b"):
        refused = runner.invoke(main, ["token", "mint", "--target", target], env={"DOTDO_SECRET": "s"})
        assert refused.exit_code == 2 and "dotdo1." not in refused.output, target
        narrowed = runner.invoke(main, ["token", "attenuate", minted.output.strip(), "--target", target])
        assert narrowed.exit_code == 2 and "dotdo1." not in narrowed.output, target
    for target in ("acme", "Order/o-1"):
        allowed = runner.invoke(main, ["token", "mint", "--target", target], env={"DOTDO_SECRET": "s"})
        assert allowed.exit_code == 0 and verify(allowed.output.strip(), "s").target == target


def test_attenuate_never_names_a_subject_the_token_does_not_have() -> None:
    runner = CliRunner()
    for minted_sub in ([], ["--sub", "bob"]):
        mint_args = ["token", "mint", "--target", "tok", "--scope", "approve", *minted_sub]
        minted = runner.invoke(main, mint_args, env={"DOTDO_SECRET": "s"})
        refused = runner.invoke(main, ["token", "attenuate", minted.output.strip(), "--sub", "alice"])
        assert refused.exit_code == 2 and "token_widened" in refused.output and "alice" in refused.output
    kept = runner.invoke(main, ["token", "attenuate", minted.output.strip(), "--sub", "bob"])
    assert kept.exit_code == 0 and verify(kept.output.strip(), "s").sub == "bob"


def _project(folder: Path, dev_vars: str | None) -> Path:
    (folder / "wrangler.toml").write_text('name = "app"\nmain = "src/entry.py"\n')
    if dev_vars is not None:
        (folder / ".dev.vars").write_text(dev_vars)
    return folder


def _mint(folder: Path, *extra: str, env: dict[str, str | None] | None = None) -> Result:
    """`dotdo token mint --target acme` run in `folder`, DOTDO_SECRET unset unless `env` sets it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        return CliRunner().invoke(
            main, ["token", "mint", "--target", "acme", *extra], env={"DOTDO_SECRET": None, **(env or {})}
        )


def test_mint_in_a_project_reads_the_secret_dotdo_dev_serves_with(tmp_path: Path) -> None:
    """The docs keep DOTDO_SECRET in .dev.vars (not in the environment, where `ps` shows it);
    mint refused there: "no secret: pass --secret or set DOTDO_SECRET"."""
    _project(tmp_path, '# local secrets\nexport DOTDO_SECRET="from-dev-vars"  # not in git\nOTHER=1\n')
    minted = _mint(tmp_path)
    assert minted.exit_code == 0, minted.output
    assert verify(minted.output.strip(), "from-dev-vars").target == "acme"


def test_the_secret_is_the_option_then_the_environment_then_dev_vars(tmp_path: Path) -> None:
    _project(tmp_path, "DOTDO_SECRET=from-dev-vars\n")
    from_env = _mint(tmp_path, env={"DOTDO_SECRET": "from-env"})
    assert verify(from_env.output.strip(), "from-env").target == "acme"
    from_option = _mint(tmp_path, "--secret", "from-option", env={"DOTDO_SECRET": "from-env"})
    assert verify(from_option.output.strip(), "from-option").target == "acme"


def test_dev_vars_outside_a_project_or_without_the_secret_is_not_used(tmp_path: Path) -> None:
    (tmp_path / "loose").mkdir()
    (tmp_path / "loose" / ".dev.vars").write_text("DOTDO_SECRET=s\n")  # no wrangler.toml beside it
    (tmp_path / "other").mkdir()
    _project(tmp_path / "other", "OTHER=1\nDOTDO_SECRET=\n")
    for folder in (tmp_path / "loose", tmp_path / "other", _project(tmp_path, None)):
        refused = _mint(folder)
        assert refused.exit_code == 2, refused.output
        assert "with DOTDO_SECRET in its .dev.vars or .env" in refused.output


def test_mint_reads_the_env_file_dotdo_dev_serves_with_when_there_is_no_dev_vars(tmp_path: Path) -> None:
    """Wrangler's dev (so `dotdo dev`) serves a project's `.env` when it has no `.dev.vars`;
    mint said "no secret" there."""
    _project(tmp_path, None)
    (tmp_path / ".env").write_text("DOTDO_SECRET=from-env-file\n")
    minted = _mint(tmp_path, env={"CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV": None})
    assert minted.exit_code == 0, minted.output
    assert verify(minted.output.strip(), "from-env-file").target == "acme"
    (tmp_path / ".env").write_text("DOTDO_SECRET=abc$HOME\n")  # wrangler serves it expanded
    refused = _mint(tmp_path, env={"CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV": None})
    assert refused.exit_code == 2 and "DOTDO_SECRET in .env holds '$'" in refused.output, refused.output
    (tmp_path / ".env.local").write_text("OTHER=1\n")  # the secret's file is named, not the last read
    refused = _mint(tmp_path, env={"CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV": None})
    assert "DOTDO_SECRET in .env holds '$'" in refused.output, refused.output


def test_mint_help_gives_the_order_of_the_secrets_sources() -> None:
    shown = CliRunner().invoke(main, ["token", "mint", "--help"])
    assert "else the DOTDO_SECRET environment variable, else" in " ".join(shown.output.split())
    assert ".dev.vars" in shown.output


def test_mint_reads_a_dev_vars_saved_with_a_bom(tmp_path: Path) -> None:
    """Wrangler serves a `.dev.vars` saved "UTF-8 with BOM"; mint said "no secret"."""
    _project(tmp_path, "\ufeffDOTDO_SECRET=with-bom\n")
    minted = _mint(tmp_path)
    assert minted.exit_code == 0, minted.output
    assert verify(minted.output.strip(), "with-bom").target == "acme"
