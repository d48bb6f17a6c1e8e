#!/usr/bin/env bash
# Builds the real control plane of the e2e suite and the live benchmarks from the Go module proxy:
# etcd, kube-apiserver, kube-controller-manager and kube-scheduler from this module's pins, and
# kwok by `go install` apart (it pins other Kubernetes libraries). No containers.
#
# Usage: tests/cluster/build.sh [OUT_DIR]   (default: target/cluster/bin at the repository root)
#
# The binaries are reused while the pins are unchanged: OUT_DIR/stamp holds the hash of go.mod,
# go.sum, the Go version and the kwok version, and a build whose stamp matches is skipped. Prints
# OUT_DIR on its last line. Exits non-zero, saying why, when Go or the proxy is unavailable.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/target/cluster/bin}"
kwok_version="v0.8.0"

if ! command -v go >/dev/null 2>&1; then
  echo "build.sh: the Go toolchain is not on PATH; the real control plane cannot be built" >&2
  exit 3
fi

stamp="$( (cat "$here/go.mod" "$here/go.sum"; echo "kwok $kwok_version"; go env GOVERSION) | sha256sum | cut -d' ' -f1)"
binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

# kwok's own stages (node-initialize, node-heartbeat, pod-ready, pod-delete), from its module.
copy_stages() {
  local stages
  stages="$(go env GOMODCACHE)/sigs.k8s.io/kwok@$kwok_version/kustomize/stage"
  if [[ ! -d "$stages" ]]; then
    (cd "$(mktemp -d)" && go mod download "sigs.k8s.io/kwok@$kwok_version")
  fi
  mkdir -p "$out/stages"
  for s in node/fast/node-initialize.yaml node/heartbeat/node-heartbeat.yaml \
    pod/fast/pod-ready.yaml pod/fast/pod-delete.yaml; do
    cp "$stages/$s" "$out/stages/"
  done
  chmod -R u+w "$out/stages"
}

complete=1
for b in "${binaries[@]}"; do [[ -x "$out/$b" ]] || complete=0; done
if [[ $complete == 1 && -f "$out/stamp" && "$(cat "$out/stamp")" == "$stamp" ]]; then
  echo "build.sh: reusing the binaries in $out (pins unchanged)" >&2
  copy_stages
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
  go build "${flags[@]}" -o "$out/etcd" go.etcd.io/etcd/server/v3
  go build "${flags[@]}" -o "$out/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
  go build "${flags[@]}" -o "$out/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager
  go build "${flags[@]}" -o "$out/kube-scheduler" k8s.io/kubernetes/cmd/kube-scheduler
)
echo "build.sh: control plane built in $((SECONDS - start)) s" >&2

start=$SECONDS
GOBIN="$out" GOFLAGS=-buildvcs=false go install "${flags[@]}" "sigs.k8s.io/kwok/cmd/kwok@$kwok_version"
echo "build.sh: kwok built in $((SECONDS - start)) s" >&2

copy_stages
echo "$stamp" > "$out/stamp"
echo "$out"
