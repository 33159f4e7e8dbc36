# The chores, in one place. `make test` is the README's test command.
.PHONY: test lint fmt bench checks demo

# Every test in the workspace: unit, property, store contract, CLI end-to-end.
test:
	cargo test --workspace --no-fail-fast

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
	../shared/checks/spine && ../shared/checks/linkage && ../shared/checks/identify

demo:
	cargo run --release -- demo --no-serve
