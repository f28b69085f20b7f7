"""A fake `helm` on PATH, only to inject failures and record argv (Helm 3 and Helm 4 flags).

Whatever can run offline (`template`) is handed to the real helm binary when one is given, so
the chart check still runs for real.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCRIPT = """#!{python}
import json, os, subprocess, sys
state_path = {state!r}
state = json.load(open(state_path))
args = sys.argv[1:]
with open(state["log"], "a") as log:
    log.write(json.dumps(args) + "\\n")
cmd = args[0] if args else ""
def finish(spec, out=""):
    sys.stdout.write(spec.get("stdout", out)); sys.stderr.write(spec.get("stderr", ""))
    sys.exit(spec.get("code", 0))
if cmd == "version":
    print(state["version"]); sys.exit(0)
if cmd == "get":
    if state.get("values") is None:
        sys.stderr.write("Error: release: not found\\n"); sys.exit(1)
    print(json.dumps(state["values"])); sys.exit(0)
if cmd == "template":
    if state.get("real"):
        os.execv(state["real"], [state["real"], *args])
    finish(state.get("template", {{}}))
if cmd == "upgrade":
    spec = state.get("upgrade", {{}})
    if spec.get("code", 0) == 0 and state.get("apply_values", True):
        import yaml
        def merge(a, b):
            if isinstance(a, dict) and isinstance(b, dict):
                return {{**a, **{{k: merge(a.get(k), v) for k, v in b.items()}}}}
            return b
        merged = {{}}
        for i, arg in enumerate(args):
            if arg == "--values":  # every values file, later ones over earlier, as helm does
                merged = merge(merged, yaml.safe_load(open(args[i + 1])) or {{}})
        state["values"] = merged
        state["revision"] = state.get("revision", 0) + 1
        chart_yaml = os.path.join(args[3], "Chart.yaml")  # upgrade --install NAME CHART
        if os.path.isfile(chart_yaml):
            meta = yaml.safe_load(open(chart_yaml))
            state["chart"] = f"{{meta['name']}}-{{meta['version']}}"
            state["app_version"] = str(meta.get("appVersion", ""))
        json.dump(state, open(state_path + ".tmp", "w")); os.replace(state_path + ".tmp", state_path)
    if spec.get("code", 0) and spec.get("history") is not None:
        state["history"] = spec["history"]
        json.dump(state, open(state_path + ".tmp", "w")); os.replace(state_path + ".tmp", state_path)
    finish(spec, "Release has been upgraded. Happy Helming!\\n")
if cmd == "history":
    rows = state.get("history")
    if rows is None:
        rev = state.get("revision", 0)
        if not rev:
            sys.stderr.write("Error: release: not found\\n"); sys.exit(1)
        rows = [{{"revision": r, "status": "deployed" if r == rev else "superseded",
                  "chart": state.get("chart", "litellm-helm-1.100.5"),
                  "app_version": state.get("app_version", "1.100.5"),
                  "description": "Upgrade complete"}} for r in range(1, rev + 1)]
    print(json.dumps(rows)); sys.exit(0)
if cmd == "status":
    print(json.dumps({{"name": args[1], "version": state.get("revision", 1), "info": {{"status": "deployed"}}}})); sys.exit(0)
sys.stderr.write("fake helm: unexpected " + " ".join(args) + "\\n"); sys.exit(2)
"""


@dataclass
class FakeHelm:
    directory: Path
    version: str = "v3.14.4+g81c902a"
    values: dict[str, Any] | None = None
    upgrade: dict[str, Any] = field(default_factory=dict)
    template: dict[str, Any] = field(default_factory=dict)
    real: str | None = None
    revision: int = 0

    @property
    def state_path(self) -> Path:
        return self.directory / "state.json"

    @property
    def log(self) -> Path:
        return self.directory / "calls.log"

    def install(self) -> Path:
        """Write the script and state; returns the directory to put first on PATH."""
        bin_dir = self.directory / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        script = bin_dir / "helm"
        script.write_text(SCRIPT.format(python=sys.executable, state=str(self.state_path)))
        script.chmod(0o755)
        self.save()
        return bin_dir

    def save(self) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "version": self.version,
                    "values": self.values,
                    "upgrade": self.upgrade,
                    "template": self.template,
                    "real": self.real,
                    "log": str(self.log),
                    "revision": self.revision,
                }
            )
        )
        tmp.replace(self.state_path)  # readers never see a half-written file

    def state(self) -> dict[str, Any]:
        return dict(json.loads(self.state_path.read_text()))

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def calls_of(self, command: str) -> list[list[str]]:
        return [c for c in self.calls() if c and c[0] == command]


def on_path(bin_dir: Path) -> str:
    return f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
