#!/usr/bin/env bash
# Builds upstream Prow as the oracle of the differential tests (`make oracle`): checkconfig, mkpj,
# mkpod and hook from sigs.k8s.io/prow at this module's pin, from the Go module proxy, and
# two small drivers of upstream's library: config-dump (cmd/config-dump: upstream's config.Load,
# its result printed as JSON) and mkpj-all (cmd/mkpj-all: what mkpj and mkpod make, for every job,
# the configuration loaded once). No containers, no upstream source in this repository: go.mod,
# go.sum and the two drivers are all that is committed.
#
# The pin: the proxy serves one version of sigs.k8s.io/prow (the repository has no tags), and that
# version pins golang.org/x/tools v0.9.3, which no longer compiles on current Go; requiring
# golang.org/x/tools at a current version beside it is what lets it build.
#
# Usage: tests/oracle/build.sh [OUT_DIR]   (default: target/oracle/bin at the repository root)
#
# The binaries are reused while the pins are unchanged: OUT_DIR/stamp holds the hash of go.mod,
# go.sum and the Go version, and a build whose stamp matches is skipped. Prints OUT_DIR on its
# last line. Exits non-zero, saying why, when Go or the proxy is unavailable.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/target/oracle/bin}"

if ! command -v go >/dev/null 2>&1; then
  echo "build.sh: the Go toolchain is not on PATH; the upstream oracle cannot be built" >&2
  exit 3
fi

stamp="$( (cat "$here/go.mod" "$here/go.sum" "$here"/cmd/*/*.go; go env GOVERSION) | sha256sum | cut -d' ' -f1)"
binaries=(checkconfig mkpj mkpod hook config-dump mkpj-all)

complete=1
for b in "${binaries[@]}"; do [[ -x "$out/$b" ]] || complete=0; done
if [[ $complete == 1 && -f "$out/stamp" && "$(cat "$out/stamp")" == "$stamp" ]]; then
  echo "build.sh: reusing the oracle binaries in $out (pins unchanged)" >&2
  echo "$out"
  exit 0
fi

mkdir -p "$out"
rm -f "$out/stamp"
export CGO_ENABLED=0
flags=(-trimpath -ldflags "-s -w")

start=$SECONDS
(
  cd "$here"
  for b in "${binaries[@]}"; do
    if [[ -d "cmd/$b" ]]; then
      go build "${flags[@]}" -o "$out/$b" "./cmd/$b"
    else
      go build "${flags[@]}" -o "$out/$b" "sigs.k8s.io/prow/cmd/$b"
    fi
  done
)
echo "build.sh: upstream checkconfig, mkpj, mkpod, hook, config-dump and mkpj-all built in $((SECONDS - start)) s" >&2

echo "$stamp" > "$out/stamp"
echo "$out"
