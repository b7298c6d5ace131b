# Shared by scripts/run and scripts/test: install what is missing, quickly skip what is there.
# Only package registries are used (crates.io, Debian apt, npm); nothing downloads a binary.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# tools/node_modules/.bin first: cargo-leptos takes wasm-opt from PATH.
export PATH="$ROOT/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"

CARGO_LEPTOS_VERSION=0.3.10   # 0.3.11 needs rustc 1.96; this machine has 1.95

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "apt-get install ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

wasm_bindgen_version() {
  # The exact version Cargo.lock resolves: the CLI must match it.
  awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock
}

ensure_build_tools() {
  if ! rustup target list --installed | grep -q '^wasm32-unknown-unknown$'; then
    say "rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
  fi
  if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
    say "cargo install cargo-leptos $CARGO_LEPTOS_VERSION (about 10 minutes, once)"
    cargo install --locked cargo-leptos --version "$CARGO_LEPTOS_VERSION"
  fi
  local wbg
  wbg="$(wasm_bindgen_version)"
  if ! wasm-bindgen --version 2>/dev/null | grep -q " $wbg\$"; then
    say "cargo install wasm-bindgen-cli $wbg (matches Cargo.lock)"
    # Its lock file can name a crate version the registry no longer serves; then resolve afresh.
    cargo install --locked wasm-bindgen-cli --version "$wbg" || cargo install wasm-bindgen-cli --version "$wbg"
  fi
  # wasm-opt for release builds: binaryen from the npm registry (tools/package.json),
  # not Debian's 108, whose output of rustc 1.95's wasm fails to start in Chromium.
  if [ ! -x tools/node_modules/.bin/wasm-opt ] || [ tools/package-lock.json -nt tools/node_modules/.package-lock.json ]; then
    say "npm ci (tools: binaryen's wasm-opt)"
    (cd tools && npm ci --no-audit --no-fund)
  fi
}

ensure_test_tools() {
  command -v cargo-nextest >/dev/null || cargo install --locked cargo-nextest
  apt_install chromium
  command -v psql >/dev/null || apt_install postgresql-client
  if [ ! -d end2end/node_modules ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    say "npm ci (end2end)"
    (cd end2end && npm ci --no-audit --no-fund)
  fi
}

build_site() {
  say "cargo leptos build"
  # cargo-leptos takes wasm-bindgen and wasm-opt from PATH; never let it fetch its own.
  cargo leptos build "$@"
}
