#!/bin/sh
# Copy the browser assets installed by npm into static/vendor/ (git-ignored; run at setup).
set -eu
cd "$(dirname "$0")/.."
mkdir -p static/vendor
cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
echo "vendored: static/vendor/htmx.min.js"
