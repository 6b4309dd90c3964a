"""deploy/k8s against the Kubernetes API itself, offline: every rendered manifest validates in strict mode
(unknown fields rejected) against the OpenAPI schemas of Kubernetes 1.30 to 1.37, which the PyPI package
kubernetes-validate bundles, and the rules an API server or a controller applies that no schema holds:
names and labels it accepts, selectors that select the pods they mean, ports that exist, policies that let
through the calls the pods make. No cluster runs here (tests/unit/test_deploy.py checks the same files
against the code).
"""

from __future__ import annotations

import copy
import re
from typing import Any

import kubernetes_validate
import pytest
from kubernetes_validate.utils import ValidationError, latest_version, major_minor
from test_deploy import K8S, container_env, k8s_documents, of_kind, pod_specs

# The oldest Kubernetes the manifests promise to work on (docs/production.md) up to the newest that the
# pinned kubernetes-validate bundles; raising the pin means adding its newest version here.
KUBERNETES_VERSIONS = [f"1.{minor}" for minor in range(30, 38)]
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
DNS_SUBDOMAIN = re.compile(r"(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
LABEL_NAME = re.compile(r"(?=.{1,63}$)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
PORT_NAME = re.compile(r"(?=.{1,15}$)(?=.*[a-z])[a-z0-9]+(-[a-z0-9]+)*")  # IANA_SVC_NAME
URL = re.compile(r"https?://([a-z0-9.-]+)(?::(\d+))?")
LOOPBACK = {"127.0.0.1", "localhost"}


@pytest.fixture(scope="module")
def k8s() -> list[dict[str, Any]]:
    return k8s_documents()


def where(doc: dict[str, Any]) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


def schema_errors(doc: dict[str, Any], version: str) -> list[str]:
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except ValidationError as error:
        path = ".".join(str(part) for part in error.path) or "(top level)"
        return [f"{where(doc)} at {path}: {error.message} (Kubernetes {error.version}, strict)"]
    return []


def pods(docs: list[dict[str, Any]], kinds: tuple[str, ...] = ("Deployment", "Job")) -> list[dict[str, Any]]:
    """The pod templates: {labels, spec, owner} of every workload."""
    return [{"labels": doc["spec"]["template"]["metadata"]["labels"], "spec": doc["spec"]["template"]["spec"],
             "owner": where(doc)} for doc in docs if doc["kind"] in kinds]


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, f"only matchLabels selectors are checked here: {selector}"
    return bool(selector) and selector["matchLabels"].items() <= labels.items()


def container_ports(pod: dict[str, Any]) -> dict[str, int]:
    return {port.get("name", str(port["containerPort"])): port["containerPort"]
            for container in pod["spec"]["containers"] for port in container.get("ports", [])}


@pytest.mark.parametrize("rendered", [True, False], ids=["rendered", "files"])
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_matches_the_api_schema(version: str, rendered: bool) -> None:
    """Rendered by kustomize when kubectl is installed, and the resource files as they are."""
    docs = k8s_documents(render=rendered)
    assert len(docs) == 14
    errors = [error for doc in docs for error in schema_errors(doc, version)]
    assert not errors, "\n".join(errors)


def test_the_newest_bundled_version_is_checked() -> None:
    assert major_minor(latest_version()) in KUBERNETES_VERSIONS, (
        f"kubernetes-validate bundles Kubernetes {latest_version()}: add it to KUBERNETES_VERSIONS")


def test_the_schema_check_rejects_real_mistakes(k8s: list[dict[str, Any]]) -> None:
    """A misspelt field, a wrong type, a missing required field, each named with its path."""
    deployment = next(doc for doc in of_kind(k8s, "Deployment") if doc["metadata"]["name"] == "carloan-service")
    misspelt, wrong_type, missing = (copy.deepcopy(deployment) for _ in range(3))
    container = misspelt["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    wrong_type["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "8000"
    del missing["spec"]["template"]["spec"]["containers"][0]["name"]
    version = KUBERNETES_VERSIONS[-1]
    [error] = schema_errors(misspelt, version)
    assert "Deployment/carloan-service at spec.template.spec.containers.0:" in error and "readinesProbe" in error
    [error] = schema_errors(wrong_type, version)
    assert "spec.template.spec.containers.0.ports.0.containerPort:" in error
    [error] = schema_errors(missing, version)
    assert "'name' is a required property" in error
    assert not schema_errors(deployment, version)


def test_names_and_labels_are_ones_the_api_server_accepts(k8s: list[dict[str, Any]]) -> None:
    """What the API server's validation refuses though the schema only says "string"."""
    for doc in k8s:
        name = doc["metadata"]["name"]
        pattern = DNS_LABEL if doc["kind"] == "Service" else DNS_SUBDOMAIN
        assert pattern.fullmatch(name), f"{where(doc)}: not a valid name"
        labels = {**doc["metadata"].get("labels", {}), **doc.get("spec", {}).get("template", {})
                  .get("metadata", {}).get("labels", {})}
        for key, value in labels.items():
            prefix, _, label = key.rpartition("/")
            assert (not prefix or DNS_SUBDOMAIN.fullmatch(prefix)) and LABEL_NAME.fullmatch(label), (
                f"{where(doc)}: label key {key!r}")
            assert value == "" or LABEL_NAME.fullmatch(value), f"{where(doc)}: label value {value!r}"
        for key in doc.get("data", {}):
            assert re.fullmatch(r"[-._a-zA-Z0-9]+", key), f"{where(doc)}: data key {key!r}"
    for pod in pods(k8s):
        for container in pod["spec"]["containers"]:
            assert DNS_LABEL.fullmatch(container["name"]), f"{pod['owner']}: container {container['name']!r}"
            for port in container.get("ports", []):
                assert PORT_NAME.fullmatch(port["name"]), f"{pod['owner']}: port name {port['name']!r}"
            for entry in container.get("env", []):
                assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", entry["name"]), f"{pod['owner']}: {entry['name']}"


def test_workloads_select_their_own_pods(k8s: list[dict[str, Any]]) -> None:
    """A Deployment whose selector misses its template is refused; a Job's pods may not restart Always;
    an HPA names its target's kind and API version as well as its name."""
    for doc in of_kind(k8s, "Deployment"):
        assert selects(doc["spec"]["selector"], doc["spec"]["template"]["metadata"]["labels"]), where(doc)
    for doc in of_kind(k8s, "Job"):
        assert doc["spec"]["template"]["spec"]["restartPolicy"] in ("OnFailure", "Never"), where(doc)
    deployments = {doc["metadata"]["name"]: doc for doc in of_kind(k8s, "Deployment")}
    for hpa in of_kind(k8s, "HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        assert target["name"] in deployments, f"{where(hpa)}: no Deployment {target['name']}"
        assert (target["kind"], target["apiVersion"]) == ("Deployment", "apps/v1"), where(hpa)
    labels = [pod["labels"] for pod in pods(k8s)]
    for doc in of_kind(k8s, "PodDisruptionBudget"):
        assert sum(selects(doc["spec"]["selector"], lab) for lab in labels) == 1, f"{where(doc)} selects no pods"


def test_autoscaled_deployments_leave_the_replica_count_to_the_autoscaler(k8s: list[dict[str, Any]]) -> None:
    """`kubectl apply` of a Deployment that sets spec.replicas scales it back to that number, whatever
    the HPA had decided; the budgets must leave a drain something to evict at the HPA's minimum."""
    scaled = {hpa["spec"]["scaleTargetRef"]["name"]: hpa for hpa in of_kind(k8s, "HorizontalPodAutoscaler")}
    for doc in of_kind(k8s, "Deployment"):
        assert "replicas" not in doc["spec"], f"{where(doc)}: spec.replicas fights its HPA; leave it out"
        labels = doc["spec"]["template"]["metadata"]["labels"]
        for pdb in of_kind(k8s, "PodDisruptionBudget"):
            if selects(pdb["spec"]["selector"], labels):
                minimum = scaled[doc["metadata"]["name"]]["spec"]["minReplicas"]
                assert pdb["spec"]["minAvailable"] < minimum, f"{where(pdb)}: a drain at {minimum} pods evicts none"


def test_services_reach_named_ports_of_real_pods(k8s: list[dict[str, Any]]) -> None:
    for service in of_kind(k8s, "Service"):
        selected = [pod for pod in pods(k8s, ("Deployment",)) if selects({"matchLabels": service["spec"]["selector"]}, pod["labels"])]
        assert len(selected) == 1, f"{where(service)} selects {[pod['owner'] for pod in selected]}"
        ports = container_ports(selected[0])
        for port in service["spec"]["ports"]:
            target = port["targetPort"]
            assert target in ports or target in ports.values(), f"{where(service)}: no container port {target}"


def test_every_container_is_sized_and_non_root(k8s: list[dict[str, Any]]) -> None:
    """CPU requests on every container: an HPA on CPU utilisation computes nothing without them."""
    for pod in pods(k8s):
        pod_context = pod["spec"].get("securityContext", {})
        for container in pod["spec"]["containers"]:
            what = f"{pod['owner']} container {container['name']}"
            resources = container.get("resources", {})
            assert {"cpu", "memory"} <= set(resources.get("requests", {})), f"{what}: requests cpu and memory"
            assert "memory" in resources.get("limits", {}), f"{what}: no memory limit"
            context = {**pod_context, **container.get("securityContext", {})}
            assert context.get("runAsNonRoot") is True and context.get("runAsUser", 0) != 0, what
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                if probe in container:
                    port = container[probe]["httpGet"]["port"]
                    named = {p["name"] for p in container.get("ports", [])}
                    assert port in named, f"{what} {probe}: {port} is not a named port of the container"


def admitted(k8s: list[dict[str, Any]], caller: dict[str, str] | None, pod: dict[str, Any], port: int) -> bool:
    """Whether the NetworkPolicies let a pod labelled `caller` (None: another namespace's monitoring)
    reach `port` of `pod`. No policy selecting the pod admits everything."""
    policies = [doc for doc in of_kind(k8s, "NetworkPolicy") if selects(doc["spec"]["podSelector"], pod["labels"])]
    if not policies:
        return True
    for policy in policies:
        for rule in policy["spec"].get("ingress", []):
            if rule.get("ports") and port not in {p["port"] for p in rule["ports"]}:
                continue
            peers = rule.get("from")
            if not peers:
                return True
            for peer in peers:
                if caller is None and "namespaceSelector" in peer:
                    return True
                same_namespace = "podSelector" in peer and "namespaceSelector" not in peer
                if caller is not None and same_namespace and selects(peer["podSelector"], caller):
                    return True
    return False


def test_network_policies_select_real_pods_and_ports(k8s: list[dict[str, Any]]) -> None:
    every = pods(k8s)
    for policy in of_kind(k8s, "NetworkPolicy"):
        selected = [pod for pod in every if selects(policy["spec"]["podSelector"], pod["labels"])]
        assert selected, f"{where(policy)}: its podSelector matches no pod"
        for rule in policy["spec"].get("ingress", []):
            for peer in rule.get("from", []):
                if "podSelector" in peer:
                    assert any(selects(peer["podSelector"], pod["labels"]) for pod in every), where(policy)
            for port in rule.get("ports", []):
                assert all(port["port"] in container_ports(pod).values() for pod in selected), (
                    f"{where(policy)}: port {port['port']} is no container port of the pods it selects")


def test_every_in_cluster_url_is_let_through(k8s: list[dict[str, Any]]) -> None:
    """Each URL a Deployment's container is given (RASA_URL, ACTION_SERVER_URL, SERVICE_URL) names a
    Service port, or a loopback port of its own pod, that reaches a container port which the NetworkPolicies
    admit from that pod. (The migration Job reads the service's ConfigMap too but calls none of them.)"""
    services = {doc["metadata"]["name"]: doc for doc in of_kind(k8s, "Service")}
    checked = 0
    for caller in pods(k8s, ("Deployment",)):
        for container in caller["spec"]["containers"]:
            for name, entry in container_env(k8s, container).items():
                for host, port_text in URL.findall(str(entry.get("value", ""))):
                    what = f"{caller['owner']} {container['name']} {name}={host}:{port_text}"
                    port = int(port_text or 80)
                    if host in LOOPBACK:
                        assert port in container_ports(caller).values(), f"{what}: nothing in the pod listens"
                        checked += 1
                        continue
                    service = services.get(host.split(".")[0])
                    if service is None:
                        continue  # a managed service outside the cluster's manifests
                    [target_port] = [p["targetPort"] for p in service["spec"]["ports"] if p["port"] == port] or [None]
                    assert target_port is not None, f"{what}: {where(service)} has no port {port}"
                    [pod] = [pod for pod in pods(k8s, ("Deployment",)) if selects({"matchLabels": service["spec"]["selector"]}, pod["labels"])]
                    number = container_ports(pod).get(target_port, target_port)
                    assert admitted(k8s, caller["labels"], pod, number), f"{what}: the NetworkPolicies refuse it"
                    checked += 1
    assert checked == 4  # RASA_URL, ACTION_SERVER_URL (service), SERVICE_URL (actions), Rasa -> actions


def test_scraped_ports_are_declared_and_admitted(k8s: list[dict[str, Any]]) -> None:
    for pod in pods(k8s, ("Deployment",)):
        annotations = next(doc for doc in of_kind(k8s, "Deployment") if where(doc) == pod["owner"])[
            "spec"]["template"]["metadata"].get("annotations", {})
        if annotations.get("prometheus.io/scrape") != "true":
            continue
        port = int(annotations["prometheus.io/port"])
        assert port in container_ports(pod).values(), f"{pod['owner']}: scrape port {port} is not declared"
        assert admitted(k8s, None, pod, port), f"{pod['owner']}: the monitoring namespace cannot reach {port}"


def test_the_secret_keys_are_exactly_the_ones_documented(k8s: list[dict[str, Any]]) -> None:
    """Every secretKeyRef names the one Secret, and its keys are the list in docs/production.md and in
    config.yaml's header (plus LOAN_API_KEY, needed only with LOAN_SYSTEM=http): no key a pod reads is
    missing there, and none listed is read by no pod."""
    refs = [entry["valueFrom"]["secretKeyRef"] for spec in pod_specs(k8s) for container in spec["containers"]
            for entry in container.get("env", []) if "secretKeyRef" in entry.get("valueFrom", {})]
    assert {ref["name"] for ref in refs} == {"carloan-secrets"}
    used = {ref["key"] for ref in refs}
    docs = (K8S.parents[2] / "docs" / "production.md").read_text(encoding="utf-8")
    bullet = docs.split("- Secrets: one Secret `carloan-secrets`", 1)[1].split("\n- ", 1)[0]
    assert set(re.findall(r"`([A-Z_]+)`", bullet)) == used | {"LOAN_API_KEY"}
    header = (K8S / "config.yaml").read_text(encoding="utf-8").split("apiVersion:", 1)[0]
    listed = re.search(r"\(keys: ([^)]*)\)", header.replace("\n#", ""))
    assert listed and {key.strip() for key in listed.group(1).split(",")} == used
