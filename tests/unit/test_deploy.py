"""The deployment files agree with the code: deploy/k8s (kustomize), deploy/compose.yaml, deploy/docker.

Every environment variable a container gets is a real setting of its process (the settings classes; for
Rasa, what scripts/run_rasa.sh and bot/endpoints.production.yml read), every probe and health check
asks a real endpoint of that process, and no secret is written in plain text anywhere in them.
No Docker engine or cluster runs here: the files are rendered (kustomize when `kubectl` is installed,
else the same resources read directly) and checked as data.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from starlette.routing import Route

from actions.metrics import ActionMetrics
from actions.server import create_app as create_action_app
from actions.settings import ActionServerSettings
from handoff.app import create_app
from handoff.config import Settings
from handoff.infra.metrics import Metrics
from knowledge_base.config import KBSettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s" / "base"
SECRET_NAMES = re.compile(r"(SECRET|TOKEN|PASSWORD|DATABASE_URL|REDIS_URL)")
# Variables every Python image sets for the interpreter and the offline model, not for our settings.
RUNTIME_ENV = {
    "PATH", "HOME", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PYTHONPATH", "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE", "TOKENIZERS_PARALLELISM", "RASA_TELEMETRY_ENABLED",
}


def k8s_documents(render: bool = True) -> list[dict[str, Any]]:
    if render and shutil.which("kubectl"):
        rendered = subprocess.run(["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, timeout=60,
                                  check=True).stdout
        return [doc for doc in yaml.safe_load_all(rendered) if doc]
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    docs = []
    for resource in kustomization["resources"]:
        docs += [doc for doc in yaml.safe_load_all((K8S / resource).read_text(encoding="utf-8")) if doc]
    return docs


@pytest.fixture(scope="module")
def k8s() -> list[dict[str, Any]]:
    return k8s_documents()


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


def pod_specs(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [doc["spec"]["template"]["spec"] for doc in docs if doc["kind"] in ("Deployment", "Job")]


def process_of(image: str) -> str:
    return image.split(":")[0].removeprefix("carloan/")


def settings_names(process: str) -> set[str]:
    if process == "service":  # the agent console's FAQ search reads the KB_ settings too
        return set(Settings.model_fields) | {f"KB_{name.upper()}" for name in KBSettings.model_fields}
    if process == "actions":
        return set(ActionServerSettings.model_fields) | {f"KB_{name.upper()}" for name in KBSettings.model_fields}
    if process == "rasa":
        # What the Rasa container reads: scripts/run_rasa.sh and the production endpoints file.
        script = (ROOT / "scripts" / "run_rasa.sh").read_text(encoding="utf-8")
        endpoints = (ROOT / "bot" / "endpoints.production.yml").read_text(encoding="utf-8")
        names = set(re.findall(r"\$\{([A-Z_]+)", script + endpoints)) | set(re.findall(r'"\$([A-Z_]+)"', script))
        return names | {"APP_ENV", "TICKET_LOCK_LIFETIME"}  # Rasa 3.6 reads TICKET_LOCK_LIFETIME itself
    raise AssertionError(f"no settings known for process {process!r}")


def container_env(docs: list[dict[str, Any]], container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every variable the container gets: name -> its `env` entry (ConfigMap keys as {"configMap": name})."""
    config_maps = {doc["metadata"]["name"]: doc.get("data", {}) for doc in of_kind(docs, "ConfigMap")}
    env: dict[str, dict[str, Any]] = {}
    for source in container.get("envFrom", []):
        name = source["configMapRef"]["name"]
        assert name in config_maps, f"{container['name']}: no ConfigMap {name!r}"
        env.update({key: {"configMap": name, "value": value} for key, value in config_maps[name].items()})
    env.update({entry["name"]: entry for entry in container.get("env", [])})
    return env


def routes_of(process: str) -> set[str]:
    if process == "service":
        app = create_app(Settings(DATABASE_URL="sqlite:///:memory:"))
        return {route.path for route in app.routes if hasattr(route, "path")}
    if process == "actions":
        app = create_action_app(ActionServerSettings(), [])
        return {route.path for route in app.routes if isinstance(route, Route)}
    if process == "rasa":
        server = ROOT / ".venv-bot" / "lib" / "python3.10" / "site-packages" / "rasa" / "server.py"
        if not server.exists():
            pytest.skip("the Rasa environment (.venv-bot) is not installed")
        return set(re.findall(r'@app\.get\("([^"]+)"', server.read_text(encoding="utf-8")))
    raise AssertionError(process)


def test_every_container_variable_is_a_real_setting(k8s: list[dict[str, Any]]) -> None:
    checked = 0
    for spec in pod_specs(k8s):
        for container in spec["containers"]:
            process = process_of(container["image"])
            unknown = set(container_env(k8s, container)) - settings_names(process) - RUNTIME_ENV
            assert not unknown, f"{container['name']} ({process}): not settings of the process: {sorted(unknown)}"
            checked += 1
    assert checked == 4  # service, migrate, rasa, actions


def test_config_values_are_valid_settings(k8s: list[dict[str, Any]]) -> None:
    """The service's ConfigMap with placeholder secrets passes the real settings validation."""
    data = next(doc for doc in of_kind(k8s, "ConfigMap") if doc["metadata"]["name"] == "carloan-service")["data"]
    secrets = {"SECRET_KEY": "x" * 32, "RASA_TOKEN": "y" * 32, "DATABASE_URL": "postgresql://db/carloan"}
    settings = Settings(**{**data, **secrets})
    assert settings.MIGRATE_ON_START is False and settings.METRICS_PORT == 9100
    assert settings.APP_ENV == "production" and settings.LOG_FORMAT == "json"


def test_every_probe_asks_a_real_endpoint_on_a_declared_port(k8s: list[dict[str, Any]]) -> None:
    probes = 0
    for spec in pod_specs(k8s):
        for container in spec["containers"]:
            process = process_of(container["image"])
            ports = {port["name"]: port["containerPort"] for port in container.get("ports", [])}
            for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
                probe = container.get(kind)
                if probe is None:
                    continue
                path, port = probe["httpGet"]["path"], probe["httpGet"]["port"]
                assert path in routes_of(process), f"{container['name']} {kind}: no route {path}"
                assert port in ports, f"{container['name']} {kind}: no port named {port}"
                probes += 1
            if process != "service" or "readinessProbe" not in container:
                continue
            # Liveness must not follow the database: restarting every replica would not bring it back.
            assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
            assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert probes == 9


def test_no_secret_is_written_in_plain_text(k8s: list[dict[str, Any]], compose: dict[str, Any]) -> None:
    assert not of_kind(k8s, "Secret"), "Secrets are created from the secret store, never committed"
    for doc in of_kind(k8s, "ConfigMap"):
        leaked = [key for key in doc.get("data", {}) if SECRET_NAMES.search(key)]
        assert not leaked, f"ConfigMap {doc['metadata']['name']} holds secrets: {leaked}"
    for spec in pod_specs(k8s):
        for container in spec["containers"]:
            for name, entry in container_env(k8s, container).items():
                if SECRET_NAMES.search(name):
                    ref = entry.get("valueFrom", {}).get("secretKeyRef")
                    assert ref == {"name": "carloan-secrets", "key": name}, f"{container['name']}: {name} in clear"
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAMES.search(key):
                assert re.search(r"\$\{[A-Z_]+:\?", str(value)), f"compose {name}: {key} is not from the environment"


def test_the_secret_keys_are_the_ones_the_docs_list(k8s: list[dict[str, Any]]) -> None:
    used = {
        entry["valueFrom"]["secretKeyRef"]["key"]
        for spec in pod_specs(k8s) for container in spec["containers"]
        for entry in container.get("env", []) if "valueFrom" in entry
    }
    documented = (ROOT / "docs" / "production.md").read_text(encoding="utf-8")
    missing = sorted(key for key in used if f"`{key}`" not in documented)
    assert not missing, f"docs/production.md does not list Secret keys {missing}"


def test_only_the_service_reaches_the_bot(k8s: list[dict[str, Any]]) -> None:
    policy = next(doc for doc in of_kind(k8s, "NetworkPolicy")
                  if doc["spec"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "carloan-bot"})
    for rule in policy["spec"]["ingress"]:
        ports = {port["port"] for port in rule["ports"]}
        for peer in rule["from"]:
            if "podSelector" in peer:
                assert peer["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "carloan-service"}
            else:  # the monitoring namespace: the action server's /metrics only, never Rasa
                assert "namespaceSelector" in peer and ports == {5055}


def test_scaling_and_disruption_budgets_select_real_deployments(k8s: list[dict[str, Any]]) -> None:
    deployments = {doc["metadata"]["name"]: doc for doc in of_kind(k8s, "Deployment")}
    hpas = of_kind(k8s, "HorizontalPodAutoscaler")
    assert {hpa["spec"]["scaleTargetRef"]["name"] for hpa in hpas} == set(deployments)
    for hpa in hpas:
        assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
        assert hpa["spec"]["minReplicas"] >= 2
    labels = [d["spec"]["template"]["metadata"]["labels"] for d in deployments.values()]
    for pdb in of_kind(k8s, "PodDisruptionBudget"):
        assert any(pdb["spec"]["selector"]["matchLabels"].items() <= lab.items() for lab in labels)
    assert len(of_kind(k8s, "PodDisruptionBudget")) == len(deployments)


def test_the_migration_job_runs_the_migrate_command(k8s: list[dict[str, Any]]) -> None:
    job = of_kind(k8s, "Job")[0]
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["python", "-m", "handoff", "migrate"]
    service = next(d for d in of_kind(k8s, "Deployment") if d["metadata"]["name"] == "carloan-service")
    env = container_env(k8s, service["spec"]["template"]["spec"]["containers"][0])
    assert env["MIGRATE_ON_START"]["value"] == "false"


def test_pods_run_as_non_root_with_read_only_file_systems(k8s: list[dict[str, Any]]) -> None:
    for spec in pod_specs(k8s):
        assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] != 0
        for container in spec["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert "memory" in container["resources"]["limits"]


def test_compose_runs_two_service_replicas_after_the_migration(compose: dict[str, Any]) -> None:
    services = compose["services"]
    replicas = [s for s in services.values() if s.get("build", {}).get("target") == "service"
                and s.get("command") is None]
    assert len(replicas) == 2
    assert services["migrate"]["command"] == ["python", "-m", "handoff", "migrate"]
    for replica in replicas:
        assert replica["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        env = replica["environment"]
        assert set(env) - set(Settings.model_fields) == set()
        health = " ".join(replica["healthcheck"]["test"])
        assert "/livez" in health and "/livez" in routes_of("service")
    for name in ("actions-a", "actions-b"):
        assert set(services[name]["environment"]) <= settings_names("actions")
        assert "/health" in " ".join(services[name]["healthcheck"]["test"])
    for name in ("bot-a", "bot-b"):
        assert set(services[name]["environment"]) <= settings_names("rasa") | RUNTIME_ENV
    assert {"postgres", "redis"} <= set(services)
    for name in ("bot-a", "bot-b"):
        assert "/version" in " ".join(services[name]["healthcheck"]["test"])


def test_compose_pairs_each_replica_with_its_own_bot(compose: dict[str, Any]) -> None:
    """Like the pods of docs/production.md: each replica asks its own Rasa first and checks its own action
    server, whose account answers come from that replica; PostgreSQL and Redis are the registry's images
    unless POSTGRES_IMAGE / REDIS_IMAGE name the local Debian builds (deploy/docker/{postgres,redis}.Dockerfile)."""
    services = compose["services"]
    for side in "ab":
        env = services[f"service-{side}"]["environment"]
        assert env["RASA_URL"].split(",")[0] == f"http://bot-{side}:5005"
        assert env["ACTION_SERVER_URL"] == f"http://actions-{side}:5055"
        assert services[f"actions-{side}"]["environment"]["SERVICE_URL"] == f"http://service-{side}:8000"
        assert services[f"bot-{side}"]["environment"]["ACTION_SERVER_URL"] == f"http://actions-{side}:5055"
    urls = [set(services[f"service-{side}"]["environment"]["RASA_URL"].split(",")) for side in "ab"]
    assert urls[0] == urls[1] == {"http://bot-a:5005", "http://bot-b:5005"}
    assert re.fullmatch(r"\$\{POSTGRES_IMAGE:-postgres:[\d.]+-bookworm\}", services["postgres"]["image"])
    assert re.fullmatch(r"\$\{REDIS_IMAGE:-redis:[\d.]+-bookworm\}", services["redis"]["image"])
    for name in ("postgres.Dockerfile", "redis.Dockerfile"):
        assert (DEPLOY / "docker" / name).exists()


def dockerfile_stages(path: Path) -> list[tuple[str, list[str]]]:
    """(FROM line, instructions) per stage, continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    text = re.sub(r"<<'PY'.*?\nPY\n", "\n", text, flags=re.DOTALL)
    stages: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("FROM "):
            stages.append((line, []))
        elif stages:
            stages[-1][1].append(line)
    return stages


@pytest.mark.parametrize("name", ["app.Dockerfile", "rasa.Dockerfile"])
def test_images_are_multi_stage_pinned_and_non_root(name: str) -> None:
    path = DEPLOY / "docker" / name
    text = path.read_text(encoding="utf-8")
    for base in re.findall(r"^ARG PYTHON_IMAGE=(\S+)", text, flags=re.MULTILINE):
        assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base), base
    stages = dockerfile_stages(path)
    assert len(stages) >= 2
    final = [stage for stage in stages if " AS build" not in stage[0]]
    for line, instructions in final:
        users = [i for i in instructions if i.startswith("USER ")]
        inherits_user = not line.endswith("${PYTHON_IMAGE} AS runtime") and not line.endswith(" AS rasa")
        assert users or inherits_user, f"{name}: stage {line!r} runs as root"
        for user in users:
            assert not user.split()[1].startswith(("0", "root"))
    for _line, instructions in stages:
        for instruction in instructions:
            if instruction.startswith("COPY ") and "--from=" not in instruction:
                for source in instruction.split()[1:-1]:
                    assert (ROOT / source).exists(), f"{name}: COPY {source}: no such path"


def pinned(path: Path) -> dict[str, str]:
    """name -> version of every `name==version` line of a constraints file."""
    lines = [line.split("#")[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return {canonicalize_name(name): version for name, _, version in (ln.partition("==") for ln in lines if ln)}


def test_the_image_constraints_pin_every_dependency() -> None:
    """The images install what the tested environments hold: every direct dependency has its tested version
    in deploy/docker/constraints-*.txt (a missing one would float to whatever the index has that day)."""
    app = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    bot = [line for line in (ROOT / "requirements-bot.txt").read_text(encoding="utf-8").splitlines()
           if line.strip() and not line.startswith("#")]
    for requirements, constraints in ((app, "constraints-app.txt"), (bot, "constraints-bot.txt")):
        versions = pinned(DEPLOY / "docker" / constraints)
        for line in requirements:
            requirement = Requirement(line)
            version = versions.get(canonicalize_name(requirement.name))
            assert version, f"{constraints}: {requirement.name} is not pinned (refresh it: see its first lines)"
            assert requirement.specifier.contains(version.split("+")[0], prereleases=True), (
                f"{constraints}: {requirement.name}=={version} does not satisfy {requirement}")


def test_image_variables_are_settings() -> None:
    for name in ("app.Dockerfile", "rasa.Dockerfile"):
        for line, instructions in dockerfile_stages(DEPLOY / "docker" / name):
            target = line.split(" AS ")[-1]
            process = {"runtime": "service", "service": "service", "actions": "actions", "rasa": "rasa"}.get(target)
            if process is None:
                continue
            for instruction in instructions:
                if instruction.startswith("ENV "):
                    names = set(re.findall(r"([A-Z_]+)=", instruction))
                    known = settings_names(process) | RUNTIME_ENV
                    if target == "runtime":  # shared by both Python images
                        known |= settings_names("actions")
                    assert names <= known, f"{name} {target}: {sorted(names - known)} are not settings"


def test_the_dashboard_plots_only_metrics_the_processes_export() -> None:
    """deploy/grafana/carloan-assistant.json: every metric a panel queries is registered by the service
    (handoff.infra.metrics) or the action server (actions.metrics)."""
    exported = set()
    for registry in (Metrics().registry, ActionMetrics().registry):
        for family in registry.collect():
            exported |= {sample.name for sample in family.samples} | {family.name}
            if family.type == "histogram":
                exported |= {f"{family.name}_bucket", f"{family.name}_count", f"{family.name}_sum"}
            if family.type == "counter":
                exported.add(f"{family.name}_total")
    dashboard = json.loads((DEPLOY / "grafana" / "carloan-assistant.json").read_text(encoding="utf-8"))
    queried = {
        name for panel in dashboard["panels"] for target in panel["targets"]
        for name in re.findall(r"\b((?:handoff|actions)_[a-z_]+)\b", target["expr"])
    }
    assert queried and queried <= exported, sorted(queried - exported)
