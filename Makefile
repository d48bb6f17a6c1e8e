# prow-operator: the developer's entry points. None needs a cluster of yours: the e2e suite starts
# its own (tests/cluster) when its binaries are built (`make cluster-binaries`).
CARGO ?= cargo
BIN := target/debug/prow-operator

.PHONY: all build test e2e soak cluster-binaries cluster-up cluster-down oracle-binaries oracle oracle-configs lint fmt clippy crds check-crds bench bench-reconcile bench-webhooks bench-jobs bench-upstream-hook render-samples

all: build

## build: compile the workspace (the `prow-operator` binary lands in target/debug).
build:
	$(CARGO) build --workspace

## test: every test of the workspace (unit, CRD, CEL, ProwJob compatibility, corpus, samples).
test:
	$(CARGO) test --workspace

## e2e: the end-to-end scenarios: the real `prow-operator run` against testkit, or against the
## cluster of $E2E_KUBECONFIG when set (part of `make test` too).
e2e:
	$(CARGO) test -p prow-operator --test e2e

## soak: the randomized job-engine scenario (tests/e2e/scenario.rs) at length: SOAK_RUNS seeds
## (random, printed; or SOAK_SEEDS) of SOAK_STEPS steps, on the real control plane and on testkit
## with faults. A failure prints its seed and steps: replay with SCENARIO_SEED=<seed>.
SOAK_RUNS ?= 4
SOAK_STEPS ?= 1000
SOAK_SEEDS ?= $(shell for run in $$(seq $(SOAK_RUNS)); do od -An -N3 -tu4 /dev/urandom; done)
soak:
	@for seed in $(SOAK_SEEDS); do \
		SCENARIO_SEED=$$seed SCENARIO_STEPS=$(SOAK_STEPS) \
			$(CARGO) test -p prow-operator --test e2e scenario:: -- --test-threads=1 --nocapture || exit 1; \
	done

## cluster-binaries: build etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok
## from the Go module proxy into target/cluster/bin (about 11 minutes cold; reused while the pins
## in tests/cluster/go.mod are unchanged).
cluster-binaries:
	tests/cluster/build.sh

## cluster-up: start that control plane on loopback, detached; prints the admin kubeconfig's path
## (use it with `kubectl --kubeconfig`). Job Pods run until ended; kwok plays the kubelet.
cluster-up:
	tests/cluster/build.sh >/dev/null
	$(CARGO) run -q -p cluster -- up

## cluster-down: stop it and remove its directory (target/cluster/run).
cluster-down:
	$(CARGO) run -q -p cluster -- down

## oracle-binaries: build upstream Prow's checkconfig, mkpj, mkpod and hook (and config-dump, upstream's
## config.Load printed as JSON) from the Go module proxy into target/oracle/bin (about 3 minutes cold; reused while the pins in
## tests/oracle/go.mod are unchanged).
oracle-binaries:
	tests/oracle/build.sh

## oracle: the differential tests against upstream Prow (check vs checkconfig, import then render vs
## the original as upstream reads them, mkpj and mkpod), on ../shared/corpus and on the
## configurations tests/oracle/configs.sh extracted (when present; ORACLE_CONFIGS=a,b for some),
## every job; prints a table per configuration.
oracle: oracle-binaries
	ORACLE_REQUIRED=1 $(CARGO) test -p prow-operator --test oracle_check -- --nocapture
	ORACLE_REQUIRED=1 $(CARGO) test -p prow-operator --test oracle_roundtrip -- --nocapture
	ORACLE_REQUIRED=1 $(CARGO) test -p prow-operator --test oracle_mkpj -- --nocapture

## oracle-configs: extract the configurations of tests/oracle/configs.tsv beyond the corpus from
## local mirrors of their repositories (MIRRORS, default /work/.mirror) into tests/oracle/configs.
oracle-configs:
	tests/oracle/configs.sh $(MIRRORS)

## lint: formatting and clippy, as CI runs them.
lint: fmt clippy

fmt:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## crds: regenerate crds/ from the Rust types (never edit crds/ by hand).
crds: build
	$(BIN) crds --dir crds

## check-crds: fail when crds/ is stale.
check-crds:
	$(CARGO) test -p prow-operator --test crds_fresh

## bench: both benchmarks: the offline one (import, check, render of the largest corpus instance
## and of synthetic 4,000- and 10,000-job configurations; wall time and peak RSS) and bench-reconcile.
bench:
	$(CARGO) bench -p prow-operator --bench offline
	$(CARGO) bench -p prow-operator --bench reconcile
	$(CARGO) bench -p prow-operator --bench webhooks
	$(CARGO) bench -p prow-operator --bench jobs
	$(CARGO) bench -p prow-operator --bench upstream_hook

## bench-reconcile: the live controller against testkit with 100 JobConfigs of 4,000 jobs:
## convergence time, reconcile p50/p99, edit-to-ConfigMap latency, RSS and idle CPU.
bench-reconcile:
	$(CARGO) bench -p prow-operator --bench reconcile

## bench-webhooks: signed pull_request synchronize webhooks through POST /hook of the release
## binary (4,000 jobs, wiremock GitHub, testkit): events/s, latency p50/p99, RSS over 1,000,000
## deliveries.
bench-webhooks:
	$(CARGO) bench -p prow-operator --bench webhooks

## bench-jobs: the native job engine of the release binary against testkit with 10,000 ProwJobs
## in flight: pods created per second, pod phase to ProwJob state lag p50/p99, RSS.
bench-jobs:
	$(CARGO) bench -p prow-operator --bench jobs

## bench-upstream-hook: our webhooks beside upstream's hook (the oracle's, make oracle-binaries)
## on the real control plane (PROW_CLUSTER_BIN): 2,000 signed synchronize events, 4,000 jobs,
## time until every ProwJob is listed and VmHWM of each, and their ratio. Skipped (said on
## stderr) without the real control plane or the hook.
bench-upstream-hook:
	$(CARGO) bench -p prow-operator --bench upstream_hook

## render-samples: every object the operator would apply for config/samples.
render-samples: build
	$(BIN) render -f config/samples
