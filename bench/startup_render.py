"""Figures for the spine: `llmgw --help` start-up against `import typer`, and render time.

Run: .venv/bin/python bench/startup_render.py
Goals (foundation issue): help/typer ratio <= 1.3; 1,000 models rendered in <= 1 s.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.k8s_objects import kube_list, pod, service  # noqa: E402

ENGINES = ("vllm", "sglang", "tgi", "ollama", "tei")


def best_of(argv: list[str], runs: int = 15) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def startup() -> None:
    typer = best_of([sys.executable, "-c", "import typer"])
    helped = best_of([sys.executable, "-m", "llmgw", "--help"])
    print(f"import typer          {typer * 1000:7.1f} ms (median of 15)")
    print(f"llmgw --help          {helped * 1000:7.1f} ms (median of 15)")
    print(f"ratio                 {helped / typer:7.2f}   (goal <= 1.3)")


def write_inputs(directory: Path, count: int) -> tuple[Path, Path]:
    import json

    lines = ["bedrock:", "  region: us-west-2", "  llm:"]
    lines += [
        f"    - {{name: bedrock-{i}, model: us.vendor.model-{i}-v1:0}}" for i in range(count // 10)
    ]
    lines.append("models:")
    items = []
    per_engine = (count - count // 10) // len(ENGINES)
    for engine in ENGINES:
        lines.append(f"  {engine}:")
        for i in range(per_engine):
            name = f"{engine}-model-{i}"
            lines.append(f"    - name: {name}")
            items.append(
                pod(f"{name}-0", engine, {"app": name}, args=["--served-model-name", f"org/{name}"])
            )
            items.append(service(name, engine, {"app": name}, 8000))
    config = directory / "config.yaml"
    config.write_text("\n".join(lines) + "\n")
    cluster = directory / "cluster.json"
    cluster.write_text(json.dumps(kube_list(items)))
    return config, cluster


def render_time(count: int) -> None:
    from llmgw import pipeline

    with tempfile.TemporaryDirectory() as tmp:
        config, cluster = write_inputs(Path(tmp), count)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            result = pipeline.render(config, pipeline.Source(pods_from=cluster), env={})
            times.append(time.perf_counter() - start)
        models = result.text.count("- model_name:")
        print(
            f"render {models} models   {min(times) * 1000:7.1f} ms best, "
            f"{statistics.median(times) * 1000:.1f} ms median of 5, in-process (goal <= 1000 ms)"
        )
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "llmgw",
                "-c",
                str(config),
                "render",
                "--pods-from",
                str(cluster),
                "--out",
                str(Path(tmp) / "v.yaml"),
            ],
            capture_output=True,
            check=True,
        )
        print(
            f"llmgw render (process) {(time.perf_counter() - start) * 1000:7.1f} ms, "
            "start-up included"
        )


if __name__ == "__main__":
    startup()
    render_time(1000)
