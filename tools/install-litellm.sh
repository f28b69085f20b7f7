#!/usr/bin/env bash
# A real LiteLLM proxy, pinned, in its own cached environment (.cache/litellm-venv), for the
# end-to-end test. About 700 MB; a second run reuses it. langfuse is what the official image
# ships for the `langfuse` callback llmgw renders.
set -euo pipefail
cd "$(dirname "$0")/.."
version=1.100.5
venv=.cache/litellm-venv
stamp="$venv/.llmgw-litellm-$version"
if [ -f "$stamp" ] && "$venv/bin/litellm" --version >/dev/null 2>&1; then
  echo "litellm $version already in $venv"; exit 0
fi
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q "litellm[proxy]==$version" "langfuse>=2.59,<3" "prisma==0.11.0"
touch "$stamp"
echo "litellm $version installed in $venv"
