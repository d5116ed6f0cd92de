#!/usr/bin/env bash
# `npm run tools`: installs the tools that only the extra checks need, pinned, inside the project:
#   - Python (requirements-dev.txt) into .venv: cfn-lint, checkov and the IAM reference data;
#   - Python (requirements-emulator.txt) into .venv-moto: moto, the AWS emulator;
#   - Go (versions below) into .tools/bin: the golang-migrate CLI and actionlint.
# Needed by `npm run test:integration`, `npm run validate`, `npm run bench:migrate` and
# `npm run local`; `npm test` needs none of it. Re-running it is cheap: pip and go skip what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

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

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
[ -x .venv-moto/bin/python ] || python3 -m venv .venv-moto
.venv-moto/bin/pip install --quiet --disable-pip-version-check -r requirements-emulator.txt

export GOBIN="$PWD/.tools/bin"
go install -tags postgres "github.com/golang-migrate/migrate/v4/cmd/migrate@${MIGRATE_VERSION}"
go install "github.com/rhysd/actionlint/cmd/actionlint@${ACTIONLINT_VERSION}"

echo "tools ready: .venv/bin (cfn-lint, checkov), .venv-moto/bin (moto_server), .tools/bin (migrate ${MIGRATE_VERSION}, actionlint ${ACTIONLINT_VERSION})"
