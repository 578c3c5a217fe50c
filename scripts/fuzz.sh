#!/usr/bin/env bash
# Builds every fuzz target, then runs each for a short time (default 10 s) from the
# checked-in seeds. cargo-fuzz needs a nightly compiler; without one, the stable
# compiler is used in bootstrap mode.
#
#   scripts/fuzz.sh [seconds per target]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-10}
toolchain=+nightly
sanitizer=()
if ! cargo +nightly --version >/dev/null 2>&1; then
  # No nightly: the stable compiler in bootstrap mode, without a sanitizer runtime.
  toolchain=""
  sanitizer=(--sanitizer none)
  export RUSTC_BOOTSTRAP=1
fi
cargo $toolchain fuzz build -O "${sanitizer[@]}"
for target in $(cargo $toolchain fuzz list); do
  corpus=$(mktemp -d)
  seeds=()
  [ -d "seeds/$target" ] && seeds=("seeds/$target")
  echo "fuzzing $target for ${seconds}s"
  cargo $toolchain fuzz run -O "${sanitizer[@]}" "$target" "$corpus" "${seeds[@]}" -- -max_total_time="$seconds" -timeout=5 2>&1 | grep -E "^Done|ERROR|panicked" || true
  rm -rf "$corpus"
  if [ -d "artifacts/$target" ] && [ -n "$(ls -A "artifacts/$target")" ]; then
    echo "fuzz target $target found a failure: see fuzz/artifacts/$target" >&2
    exit 1
  fi
done
