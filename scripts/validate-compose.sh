#!/usr/bin/env bash
# Validates docker-compose.yml (or the files given) with a real Compose implementation, without a
# Docker engine: tools/compose-validate, a small Go program over compose-spec/compose-go (the loader
# inside `docker compose`). It fails, naming the error, on a misspelt key, a bad depends_on
# condition, a depends_on of an undefined service, an undefined volume, and whatever else
# `docker compose config` rejects.
#
#   scripts/validate-compose.sh [--json] [FILE...]     # default: the repository's docker-compose.yml
#
# The validator is built once per machine into a per-user cache (like bin/setup.mjs does for the
# Temporal CLI), keyed by the compose-go version and a hash of the program, so every clone shares
# it and an edit to the program rebuilds it. The first build takes about 20-40 s and needs Go
# (1.24 or later) and the Go module proxy; later runs take milliseconds.
# Exit codes: 0 valid, 1 invalid (the error on stderr), 2 usage, 127 no validator and no Go.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/tools/compose-validate"
compose_go_version="$(awk '$1 == "require" && $2 == "github.com/compose-spec/compose-go/v2" { print $3 }' "$src/go.mod")"
if command -v sha256sum >/dev/null; then sha256=(sha256sum); else sha256=(shasum -a 256); fi
source_hash="$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | "${sha256[@]}" | cut -c1-12)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/clerk/compose-validate-${compose_go_version}-${source_hash}"
validator="$cache/compose-validate"

if [ ! -x "$validator" ]; then
  if ! command -v go >/dev/null; then
    echo "validate-compose: no validator at $validator and no Go toolchain to build it; install Go 1.24 or later (https://go.dev/dl/)" >&2
    exit 127
  fi
  echo "validate-compose: building the validator (compose-go $compose_go_version) into $cache, once per machine..." >&2
  started=$(date +%s)
  mkdir -p "$cache"
  # Built beside its final name and renamed, so two builds at once never leave a half-written binary.
  partial="$(mktemp "$cache/compose-validate.XXXXXX")"
  trap 'rm -f "$partial"' EXIT
  (cd "$src" && go build -trimpath -ldflags "-s -w" -o "$partial" .)
  chmod 755 "$partial"
  mv -f "$partial" "$validator"
  trap - EXIT
  echo "validate-compose: built in $(( $(date +%s) - started )) s" >&2
fi

flags=()
files=()
for arg in "$@"; do
  case "$arg" in
    -*) flags+=("$arg") ;;
    *) files+=("$arg") ;;
  esac
done
[ ${#files[@]} -gt 0 ] || files=("$root/docker-compose.yml")
exec "$validator" ${flags[@]+"${flags[@]}"} "${files[@]}"
