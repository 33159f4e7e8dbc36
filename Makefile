# The chores, in one place. `make test` is the README's test command.
.PHONY: test test-deps lint fmt bench checks demo e2e

# Every test in the workspace: unit, property, store contract, CLI end to end, web route
# matrix, and the browser end-to-end test in headless Chromium (installed if missing).
test: test-deps
	FAMILIAR_E2E=1 cargo test --workspace --no-fail-fast

test-deps:
	bash scripts/test-deps.sh

# Only the browser test (screenshots land in target/e2e-screenshots).
e2e: test-deps
	FAMILIAR_E2E=1 cargo test -p familiar-web --test e2e -- --nocapture

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

# Whole-program benchmarks (release build); figures go to BENCHMARKS.md.
bench:
	bash scripts/bench.sh

# The shared acceptance checks (need ../shared beside the checkout).
checks:
	../shared/checks/spine && ../shared/checks/linkage && ../shared/checks/identify && ../shared/checks/web

demo:
	cargo run --release -- demo
