#!/usr/bin/env bash
# The release build of the site and server, as every script and CI uses it.
#
#   bash scripts/build.sh
#
# cargo-leptos with:
#   --release      wasm at opt-level z with LTO (profile wasm-release), server release
#   --precompress  writes .br and .gz beside every file of target/site, served as is
#   --split        splits the wasm at #[lazy] / #[lazy_route] points into chunks
#                  that the browser loads when a page needs them (docs/frontend.md)
# File names carry content hashes (hash-files in Cargo.toml), so the server can
# let browsers cache them for a year.
# Then scripts/trim-split-loader.mjs rewrites the splitter's loader, which every
# page fetches, as a table with short chunk names (16.9 → 8.9 KB brotli).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo leptos build --release --precompress --split "$@"
node scripts/trim-split-loader.mjs target/site/pkg
