"""The helm adapter: argv for each call, running it, and helm's failures as clear errors.

Users run Helm 3 (3.8+, when OCI charts became stable) and Helm 4; the flag sets differ
(``--atomic`` became ``--rollback-on-failure``, ``--wait`` takes a strategy), so the version
is detected once and the argv built for it.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmgw import proc
from llmgw.errors import ExternalError, InputError
from llmgw.redact import redact

INSTALL_HINT = (
    "install Helm 3.8+ or Helm 4 (https://helm.sh/docs/intro/install/) and put it on PATH"
)


@dataclass(frozen=True)
class Helm:
    path: str
    major: int
    minor: int
    patch: int

    @property
    def version(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


@dataclass(frozen=True)
class Release:
    """What to install where; the argv builders need nothing else."""

    name: str
    namespace: str
    chart: str
    version: str
    values_file: Path
    timeout: str = "10m"
    wait: bool = True
    kube_context: str | None = None
    #: The kubeconfig llmgw itself reads (``--kubeconfig``): helm must reach the same cluster.
    kubeconfig: str | None = None
    #: Values given after ``values_file`` (llmgw's pod annotations: never in the values file
    #: that ``render`` writes, so a deploy and a render of the same inputs write one text).
    extra_values: tuple[Path, ...] = ()


def find() -> Helm:
    path = shutil.which("helm")
    if path is None:
        raise ExternalError("helm is not on PATH", hint=INSTALL_HINT)
    result = proc.run([path, "version", "--short"], missing_hint=INSTALL_HINT, timeout=30)
    match = re.search(r"v(\d+)\.(\d+)\.(\d+)", result.stdout)
    if not result.ok or match is None:
        raise ExternalError(
            f"could not read helm's version from `helm version --short`: "
            f"{(result.stderr or result.stdout).strip()}",
            hint=INSTALL_HINT,
        )
    helm = Helm(path, int(match[1]), int(match[2]), int(match[3]))
    if (helm.major, helm.minor) < (3, 8):
        raise ExternalError(
            f"helm {helm.version} is too old: llmgw needs 3.8 or newer", hint=INSTALL_HINT
        )
    return helm


def is_local(chart: str) -> bool:
    return chart.startswith((".", "/", "~")) or chart.endswith(".tgz") or Path(chart).is_dir()


#: An exact chart version (SemVer 2, as helm and both LiteLLM charts publish them), or a
#: content digest: anything else (``latest``, ``>=1.0``, ``1.x``) lets helm pick the newest.
_PIN = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$"
    r"|^sha256:[0-9a-f]{64}$"
)
#: A Go duration, as helm's --timeout takes it: 10m, 90s, 1h30m, 2.5m.
_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")


def check_timeout(timeout: str) -> None:
    if not _DURATION.match(timeout):
        raise InputError(
            f"--timeout {timeout!r} is not a duration",
            hint="give a number with a unit, as helm takes it: 90s, 10m, 1h30m",
        )


def check_chart(chart: str, version: str, version_from: str = "gateway.chart_version") -> None:
    """A registry chart must be pinned to an exact version; a local one must exist.

    ``version_from`` names where the version came from (a flag or a config key), for the
    message."""
    if is_local(chart):
        if not Path(chart).expanduser().exists():
            raise InputError(
                f"chart {chart} not found",
                hint="pass the chart directory or .tgz "
                "(helm pull oci://ghcr.io/berriai/litellm-helm --version V), "
                "or an oci:// reference with a version",
            )
        return
    if not version:
        raise InputError(
            f"the chart {chart} is not pinned to a version",
            hint='set gateway.chart_version in the config (e.g. "1.100.5") or pass '
            "--chart-version; an unpinned deploy would install whatever is newest",
        )
    if not _PIN.match(version):
        raise InputError(
            f"{version_from} {version!r} is not a pinned version: helm would resolve it to "
            "whatever is newest",
            hint='give an exact version, e.g. "1.100.5" (or a sha256: digest)',
        )


def _context(release: Release) -> list[str]:
    """The cluster helm talks to: the one llmgw read and writes the Secret to."""
    flags = ["--kubeconfig", release.kubeconfig] if release.kubeconfig else []
    return flags + (["--kube-context", release.kube_context] if release.kube_context else [])


def _version(release: Release) -> list[str]:
    return ["--version", release.version] if release.version and not is_local(release.chart) else []


def upgrade_argv(helm: Helm, release: Release) -> list[str]:
    argv = [
        helm.path,
        "upgrade",
        "--install",
        release.name,
        release.chart,
        *_version(release),
        "--namespace",
        release.namespace,
        "--values",
        str(release.values_file),
        *[arg for extra in release.extra_values for arg in ("--values", str(extra))],
        "--timeout",
        release.timeout,
        *_context(release),
    ]
    if helm.major >= 4:
        argv += ["--rollback-on-failure", "--wait=watcher" if release.wait else "--wait=hookOnly"]
    else:
        argv += ["--atomic"] if release.wait else []
        argv += ["--wait"] if release.wait else []
    return argv


def template_argv(helm: Helm, release: Release) -> list[str]:
    return [
        helm.path,
        "template",
        release.name,
        release.chart,
        *_version(release),
        "--namespace",
        release.namespace,
        "--values",
        str(release.values_file),
    ]


def get_values_argv(helm: Helm, release: Release) -> list[str]:
    return [
        helm.path,
        "get",
        "values",
        release.name,
        "--namespace",
        release.namespace,
        "--output",
        "json",
        *_context(release),
    ]


def status_argv(helm: Helm, release: Release) -> list[str]:
    return [
        helm.path,
        "status",
        release.name,
        "--namespace",
        release.namespace,
        "--output",
        "json",
        *_context(release),
    ]


def _wait(helm: Helm, release: Release) -> list[str]:
    """Wait for the rollout, each helm its way (Helm 4's --wait takes a strategy)."""
    if not release.wait:
        return []
    return ["--wait=watcher"] if helm.major >= 4 else ["--wait"]


def rollback_argv(helm: Helm, release: Release, revision: int) -> list[str]:
    return [
        helm.path,
        "rollback",
        release.name,
        str(revision),
        "--namespace",
        release.namespace,
        "--timeout",
        release.timeout,
        *_wait(helm, release),
        *_context(release),
    ]


def uninstall_argv(helm: Helm, release: Release) -> list[str]:
    return [
        helm.path,
        "uninstall",
        release.name,
        "--namespace",
        release.namespace,
        "--timeout",
        release.timeout,
        *_wait(helm, release),
        *_context(release),
    ]


def rollback(helm: Helm, release: Release, revision: int, before: int) -> None:
    result = proc.run(rollback_argv(helm, release, revision))
    if not result.ok:
        error = failure(f"helm rollback to revision {revision}", result, (), release)
        error.message += "\n" + after_failure(before, history(helm, release), release)
        raise error


def uninstall(helm: Helm, release: Release) -> None:
    result = proc.run(uninstall_argv(helm, release))
    if not result.ok:
        raise failure("helm uninstall", result, (), release)


#: What helm prints when the release does not exist (and only then); a failure whose message
#: merely contains "not found" (a missing credential plugin) is a failure, not "no release".
_NO_RELEASE = re.compile(r"(?m)^Error: release: not found\s*$")


def live_values(helm: Helm, release: Release, revision: int | None = None) -> dict[str, Any] | None:
    """The values the live release (or one of its revisions) was installed with; None when
    there is no release."""
    argv = get_values_argv(helm, release)
    if revision is not None:
        argv += ["--revision", str(revision)]
    result = proc.run(argv, timeout=120)
    if not result.ok:
        if _NO_RELEASE.search(result.stderr):
            return None
        raise failure("reading the live release's values", result)
    return _json_document(result.stdout)


def _json_document(stdout: str) -> dict[str, Any]:
    """The JSON document in helm's stdout, past any warning lines printed before it.

    The output holds the live release's secrets (inline mode), so it is never quoted.
    """
    lines = stdout.splitlines()
    for index, line in enumerate(lines):
        if line.startswith(("{", "null")):
            try:
                data = json.loads("\n".join(lines[index:]))
            except ValueError:
                break
            return data if isinstance(data, dict) else {}
    raise ExternalError(
        f"helm get values printed {len(lines)} lines that hold no JSON document "
        "(not shown: they may hold secrets)",
        hint="run `helm get values RELEASE -n NAMESPACE -o json` to see what it prints",
    )


def template(helm: Helm, release: Release, secrets: Sequence[str] = ()) -> str:
    """Render the chart with the values client-side: catches chart-side problems offline."""
    result = proc.run(template_argv(helm, release), timeout=300)
    if not result.ok:
        raise failure("rendering the chart with the new values (helm template)", result, secrets)
    return result.stdout


def upgrade(
    helm: Helm, release: Release, secrets: Sequence[str] = (), before: int = 0
) -> proc.Result:
    """``helm upgrade --install`` over revision ``before`` (0: a first install); a failure
    says what helm left behind, read from the release's history (never from the wording of
    helm's message, which differs between versions: Helm 4 applies the rollback and then
    reports "an error occurred while rolling back" when the rollback's own wait inherits the
    expired --timeout)."""
    result = proc.run(upgrade_argv(helm, release))
    if not result.ok:
        error = failure("helm upgrade --install", result, secrets, release)
        error.message += "\n" + after_failure(before, history(helm, release), release)
        raise error
    return result


def revision(helm: Helm, release: Release) -> int | None:
    result = proc.run(status_argv(helm, release), timeout=120)
    try:
        return int(json.loads(result.stdout)["version"]) if result.ok else None
    except (ValueError, KeyError, TypeError):
        return None


@dataclass(frozen=True)
class Revision:
    """One row of ``helm history -o json``."""

    revision: int
    status: str
    chart: str = ""
    app_version: str = ""
    description: str = ""
    updated: str = ""

    @property
    def chart_name(self) -> str:
        return split_chart(self.chart)[0]

    @property
    def chart_version(self) -> str:
        return split_chart(self.chart)[1]


_CHART = re.compile(r"^(?P<name>.+?)-(?P<version>v?\d+\.\d+\.\d+\S*)$")
#: The states in which helm refuses the next upgrade ("another operation is in progress").
PENDING = ("pending-install", "pending-upgrade", "pending-rollback", "uninstalling")


def split_chart(chart: str) -> tuple[str, str]:
    """``litellm-helm-1.100.5`` (as ``helm list``/``history`` print it) → name, version."""
    m = _CHART.match(chart)
    return (m["name"], m["version"]) if m else (chart, "")


@dataclass(frozen=True)
class ChartId:
    name: str
    version: str
    app_version: str = ""


def chart_id(release: Release) -> ChartId:
    """The chart a deploy installs: a local chart's own Chart.yaml (a directory or a .tgz),
    else the reference's last path segment at the pinned version."""
    path = Path(release.chart).expanduser()
    if is_local(release.chart) and path.exists():
        meta = _local_chart_yaml(path)
        if meta is not None:
            return ChartId(
                str(meta.get("name") or path.name),
                str(meta.get("version") or ""),
                str(meta.get("appVersion") or ""),
            )
    name = release.chart.rstrip("/").rsplit("/", 1)[-1]
    return ChartId(name, release.version.removeprefix("v"))


def _local_chart_yaml(path: Path) -> dict[str, Any] | None:
    import tarfile

    import yaml

    try:
        if path.is_dir():
            text = (path / "Chart.yaml").read_text(encoding="utf-8")
        else:
            with tarfile.open(path) as tar:
                member = next(m for m in tar.getmembers() if m.name.count("/") == 1
                              and m.name.endswith("/Chart.yaml"))  # fmt: skip
                handle = tar.extractfile(member)
                text = handle.read().decode() if handle is not None else ""
        data = yaml.safe_load(text)
    except (OSError, StopIteration, tarfile.TarError, yaml.YAMLError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def history_argv(helm: Helm, release: Release) -> list[str]:
    return [
        helm.path,
        "history",
        release.name,
        "--namespace",
        release.namespace,
        "--output",
        "json",
        "--max",
        "20",
        *_context(release),
    ]


def history(helm: Helm, release: Release, strict: bool = False) -> list[Revision]:
    """The release's latest revisions, oldest first; empty when there is no release, or (not
    ``strict``) when helm cannot say: the caller then has nothing to report, never a wrong
    account. ``strict``: a failure other than "no release" is an error."""
    result = proc.run(history_argv(helm, release), timeout=120)
    if not result.ok:
        if strict and not _NO_RELEASE.search(result.stderr):
            raise failure("reading the release's history", result)
        return []
    try:
        rows = json.loads(result.stdout)
        return sorted(
            (
                Revision(
                    int(r["revision"]),
                    str(r.get("status") or ""),
                    str(r.get("chart") or ""),
                    str(r.get("app_version") or ""),
                    str(r.get("description") or ""),
                    str(r.get("updated") or ""),
                )
                for r in rows
            ),
            key=lambda r: r.revision,
        )
    except (ValueError, KeyError, TypeError):
        return []


def after_failure(before: int, after: Sequence[Revision], release: Release) -> str:
    """What a failed ``upgrade --install`` left, for a person: ``before`` is the revision that
    was live (0: none), ``after`` the history read once helm gave up."""
    where = f"{release.name} -n {release.namespace}"
    new = [r for r in after if r.revision > before]
    if not new:
        if before == 0:
            return "helm left no release behind (a failed first install is uninstalled)"
        return f"the release was not changed: revision {before} is still live"
    attempt, last = new[0], new[-1]
    if before == 0:
        return (
            f"the first install is left as revision {attempt.revision} ({attempt.status}); "
            f"remove it with `helm uninstall {where}` or deploy again"
        )
    if last is attempt:
        return (
            f"helm did not roll back: revision {attempt.revision} is {attempt.status} and "
            f"revision {before} is not restored; restore it with `helm rollback {where} {before}`"
        )
    if last.status == "deployed":
        return (
            f"helm rolled the release back: revision {last.revision} runs revision {before} again"
        )
    return (
        f"helm rolled the release back: revision {last.revision} runs revision {before}'s chart "
        f"and values again, but helm marked it {last.status} (its own wait ran out with the "
        f"upgrade's --timeout): check that the pods are Ready with `kubectl get pods -n "
        f"{release.namespace}`; the next deploy upgrades it as usual"
    )


def failure(
    what: str,
    result: proc.Result,
    secrets: Sequence[str] = (),
    release: Release | None = None,
) -> ExternalError:
    """helm's own message (secrets masked, cut short), with what it means and what to do;
    the hint names the release and namespace when they are known."""
    raw = (result.stderr or result.stdout).strip() or f"exit code {result.returncode}"
    message = redact(raw if len(raw) <= 4000 else raw[:4000] + " ...", secrets)
    lower = message.lower()
    hint: str | None = None
    if "another operation" in lower and "in progress" in lower:
        hint = (
            "the release is stuck in a pending state: see `helm history RELEASE -n NS`, "
            "then `helm rollback RELEASE REVISION -n NS` (or wait for the other operation)"
        )
    elif "timed out" in lower or "deadline exceeded" in lower:
        hint = (
            "the rollout did not become ready in time: check `kubectl get pods -n NS`, "
            "or raise --timeout"
        )
    elif (
        "not found" in lower and ("chart" in lower or "manifest" in lower)
    ) or "failed to fetch" in lower:
        hint = "check the chart reference and --chart-version, or `helm pull` it and pass the .tgz"
    elif any(
        s in lower
        for s in ("no such host", "connection refused", "i/o timeout", "failed to do request")
    ):
        hint = (
            "the chart registry or the cluster is unreachable; check the network "
            "(air-gapped: helm pull, then pass the .tgz)"
        )
    elif "kubernetes cluster unreachable" in lower:
        hint = "check the kubeconfig and --kube-context"
    elif "field is immutable" in lower:
        hint = (
            "an object of the chart cannot change in place (a Job left by an older revision, "
            "e.g. the LiteLLM migration Job): delete it with `kubectl delete job NAME -n NS`, "
            "then deploy again"
        )
    if hint is not None and release is not None:
        hint = hint.replace("RELEASE", release.name).replace("-n NS", f"-n {release.namespace}")
    return ExternalError(f"{what} failed: {message}", hint=hint)
