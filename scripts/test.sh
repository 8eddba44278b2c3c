#!/usr/bin/env bash
# The whole default test suite: build with warnings as errors, run every test
# (unit tests, CLI tests, Node cross-checks), and prove core/ cross-compiles
# for an aarch64 OP-TEE trusted application that references nothing beyond
# the GP API and a short allow-list (scripts/check-ta-symbols.sh); then the
# node-side keystore's tests (node/, cargo) against the signer just built.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset ci >/dev/null
cmake --build --preset ci -j"$(nproc)"
bash scripts/cross-compile-core.sh
bash scripts/check-ta-symbols.sh
ctest --preset ci -j"$(nproc)"
# The Rust tests start the signer built above. CARGO_TARGET_DIR, when set (e.g.
# to a cache outside the checkout), only speeds the build up. The devnet's node
# and runtime (a full Substrate node, ~1,100 crates) are formatted here but
# built and run by demo/devnet.sh, outside CI's time budget (docs/devnet.md).
(cd node && cargo fmt --all --check && TEE_SIGNER_BIN="$PWD/../build-ci/cli/tee-signer" \
    cargo clippy --locked -p tee-signer-keystore --all-targets -q -- -D warnings &&
    TEE_SIGNER_BIN="$PWD/../build-ci/cli/tee-signer" cargo test --locked -p tee-signer-keystore)
