"""Figures for `llmgw verify` against the real LiteLLM proxy (values mode, 20 names), whose
engines are an OpenAI stand-in answering each request after 0.3 s.

Run: .venv/bin/python bench/verify.py
Prints the slowest single check (each name verified alone) and the time to verify all 20
names with --parallel 4. Goal (status/verify issue): <= 1.5 x the slowest single x 5.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from llmgw import inputs, pipeline, verifier  # noqa: E402
from tests import litellm_proxy  # noqa: E402
from tests.k8s_objects import kube_list, pod, service  # noqa: E402
from tests.litellm_proxy import MASTER_KEY  # noqa: E402
from tests.openai_standin import Engines, serve  # noqa: E402

NAMES = 20


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        items: list[dict[str, Any]] = []
        for i in range(NAMES):
            items += [
                pod(f"m{i}-0", "vllm", {"app": f"m{i}"}),
                service(f"m{i}", "vllm", {"app": f"m{i}"}, 8000),
            ]
        snap = work / "cluster.json"
        snap.write_text(json.dumps(kube_list(items)))
        config = work / "config.yaml"
        config.write_text(
            'gateway: {release: gw, namespace: gw, chart_version: "1.0.0"}\nmodels:\n  vllm:\n'
            + "".join(f"    - name: m{i}\n" for i in range(NAMES))
        )
        rendered = pipeline.render(config, pipeline.Source(pods_from=snap), env={})
        engines = Engines(delay=0.3)
        with serve(engines) as backend:
            env = {"PROXY_MASTER_KEY": MASTER_KEY, "HTTP_PROXY": backend, "http_proxy": backend}
            env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
            proxy_config = yaml.safe_load(rendered.text)["proxy_config"]
            with litellm_proxy.start(proxy_config, env, work) as proxy:

                def run(names: tuple[str, ...], parallel: int) -> float:
                    start = time.perf_counter()
                    verdicts = verifier.run(
                        verifier.Settings(
                            config, inputs.Source(pods_from=snap), proxy.url, names, parallel
                        ),
                        env={"LITELLM_MASTER_KEY": MASTER_KEY},
                    )
                    assert all(v.ok for v in verdicts), verdicts
                    return time.perf_counter() - start

                run(("vllm/m0",), 1)  # warm up
                single = max(run((f"vllm/m{i}",), 1) for i in range(NAMES))
                whole = run((), 4)
                goal = 1.5 * single * (NAMES / 4)
                print(
                    f"verify: slowest single name {single:.2f} s; {NAMES} names with --parallel 4 "
                    f"in {whole:.2f} s (goal <= {goal:.2f} s: 1.5 x slowest x {NAMES // 4})"
                )


if __name__ == "__main__":
    main()
