# Shared set-up for scripts/dev and scripts/test. Source it from the repository root.
# Installs what the project needs from its own files, once, and says in one
# line what is wrong when it cannot.

die() { echo "dotdo: $*" >&2; exit 1; }

ensure_node() {
  command -v node >/dev/null 2>&1 || die "Node.js is missing: install Node 20.3 or newer (apt-get install nodejs npm)"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$major" -ge 20 ] || die "Node $(node --version) is too old: wrangler needs Node 20.3 or newer"
}

ensure_npm_packages() {
  ensure_node
  command -v npm >/dev/null 2>&1 || die "npm is missing: install npm alongside Node"
  local stamp=node_modules/.dotdo-lock
  if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
    echo "dotdo: installing npm packages (wrangler, pyodide)" >&2
    npm ci --no-audit --no-fund --loglevel=error >&2 || die "npm ci failed: see the output above"
    cp package-lock.json "$stamp"
  fi
  [ -x node_modules/.bin/wrangler ] || die "wrangler is not installed: run npm ci"
}

ensure_dev_venv() {
  # .venv holds the dev tools of pyproject.toml's `dev` group and the package's own
  # dependencies (with its extras'), never the checkout itself: the code under test is
  # src/ (pytest's `pythonpath`, PYTHONPATH for the dotdo command), so a .venv shared by
  # several checkouts serves each its own sources. Redone when that list changes.
  local want stamp=.venv/.dotdo-dev-deps
  command -v python3 >/dev/null 2>&1 || die "python3 is missing: install Python 3.11 or newer"
  want="$(python3 - <<'PY'
import tomllib

with open("pyproject.toml", "rb") as file:
    config = tomllib.load(file)
project = config["project"]
wanted = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
print("\n".join(dict.fromkeys([*wanted, *config["dependency-groups"]["dev"]])))
PY
)"
  if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "dotdo: installing the dev tools and the package's dependencies into .venv" >&2
    python3 -m venv .venv || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    local requirements
    requirements="$(mktemp)"
    printf '%s\n' "$want" >"$requirements"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2 \
      || { rm -f "$requirements"; die "installing the dev tools into .venv failed"; }
    rm -f "$requirements"
    printf '%s' "$want" >"$stamp"
  fi
}
