#!/usr/bin/env bash
# `npm run tools`: installs the tools that only the extra checks need, pinned:
#   - Python (requirements-dev.txt) into .venv: cfn-lint, checkov and the IAM reference data;
#   - Python (requirements-emulator.txt) into .venv-moto: moto, the AWS emulator;
#   - Go (versions below) into .tools/bin: the golang-migrate CLI and actionlint.
# Needed by `npm run test:integration`, `npm run validate`, `npm run bench:migrate` and
# `npm run local`; `npm test` needs none of it.
#
# The tools live in a cache outside the clone, one directory per key (the pinned versions, both
# requirements files, the install part of this script, and the Python and Go versions), and .venv, .venv-moto and
# .tools are symlinks into it. A second clone, or a second CI run, reuses them in about a second;
# a changed pin gives a new key, so a stale tool is never reused. The cache is
# $CLEVER_BETTER_TOOLS_CACHE, else $XDG_CACHE_HOME/clever-better-tools, else ~/.cache/clever-better-tools.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'USAGE'
Usage: npm run tools

Installs the pinned Python tools (cfn-lint, checkov, parliament; moto) and Go tools (golang-migrate
CLI, actionlint) into a cache outside the clone, or links them from it, as .venv, .venv-moto and
.tools. Exit 0: ready; 1: an install failed (its log is printed); 2: usage.

Options:
  -h, --help    this text
USAGE
}
case "${1-}" in
-h | --help)
  usage
  exit 0
  ;;
'') ;;
*)
  printf 'npm run tools does not take "%s": it accepts -h/--help\n\n' "$1" >&2
  usage >&2
  exit 2
  ;;
esac

# >>> install: the lines from here to "<<< install" are hashed into the cache key.
MIGRATE_VERSION=v4.19.1
ACTIONLINT_VERSION=v1.7.12

need() {
  command -v "$1" >/dev/null 2>&1 || {
    echo "npm run tools: '$1' is not installed. $2" >&2
    exit 1
  }
}
need python3 "Install Python 3.10+ (e.g. apt-get install python3 python3-venv)."
need go "Install Go 1.22+ (https://go.dev/doc/install, or apt-get install golang)."

key=$(
  {
    echo "$MIGRATE_VERSION $ACTIONLINT_VERSION"
    python3 --version
    go version
    cat requirements-dev.txt requirements-emulator.txt
    sed -n '/^# >>> install/,/^# <<< install/p' scripts/tools.sh
  } | sha256sum | cut -c1-16
)
root="${CLEVER_BETTER_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clever-better-tools}"
dir="$root/$key"
mkdir -p "$root"
# One install per key at a time: a second clone or CI run started meanwhile waits, then reuses it.
exec 9>"$dir.lock"
flock 9

if [ -f "$dir/.complete" ]; then
  echo "npm run tools: reusing $dir"
else
  # A directory without the marker is a run that was cut short: start it again from nothing
  # (a venv records its own absolute path, so it is built where it will stay).
  rm -rf "$dir"
  mkdir -p "$dir/logs" "$dir/tmp"
  # pip's and go's temporary files go inside the cache directory: an install killed midway leaves
  # nothing in the shared temporary directory, and the next attempt removes the whole directory.
  export TMPDIR="$dir/tmp" GOTMPDIR="$dir/tmp"
  # The four installs are independent (pip mostly waits on downloads, go builds on the CPU), so
  # they run side by side: a cold install takes as long as the slowest, not the sum.
  install() {
    local name=$1
    shift
    if ! "$@" >"$dir/logs/$name.log" 2>&1; then
      echo "npm run tools: installing $name failed ($*):" >&2
      cat "$dir/logs/$name.log" >&2
      return 1
    fi
  }
  pids=()
  install python-tools sh -c "python3 -m venv '$dir/venv' && '$dir/venv/bin/pip' install --quiet --disable-pip-version-check -r requirements-dev.txt" &
  pids+=($!)
  install moto sh -c "python3 -m venv '$dir/venv-moto' && '$dir/venv-moto/bin/pip' install --quiet --disable-pip-version-check -r requirements-emulator.txt" &
  pids+=($!)
  export GOBIN="$dir/tools/bin"
  install migrate go install -tags postgres "github.com/golang-migrate/migrate/v4/cmd/migrate@${MIGRATE_VERSION}" &
  pids+=($!)
  install actionlint go install "github.com/rhysd/actionlint/cmd/actionlint@${ACTIONLINT_VERSION}" &
  pids+=($!)
  failed=0
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  [ "$failed" = 0 ] || exit 1
  rm -rf "$dir/tmp"
  touch "$dir/.complete"
fi
# <<< install

# Replace whatever is there (an older in-clone install, or a link to another key).
for pair in ".venv:venv" ".venv-moto:venv-moto" ".tools:tools"; do
  link=${pair%%:*}
  rm -rf "$link"
  ln -s "$dir/${pair#*:}" "$link"
done

echo "tools ready in $dir: .venv/bin (cfn-lint, checkov), .venv-moto/bin (moto_server), .tools/bin (migrate ${MIGRATE_VERSION}, actionlint ${ACTIONLINT_VERSION})"
