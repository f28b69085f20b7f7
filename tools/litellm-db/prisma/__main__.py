"""``python -m prisma …``: the CLI LiteLLM calls at start-up. Nothing to migrate here (the
store has no schema), so every command succeeds with no output: ``migrate diff`` then reports
no difference."""

import sys

sys.exit(0)
