"""deploy/kubernetes/ validated offline: Kubernetes JSON schemas, the settings, the API's probes, docker-compose.yml.

The schemas come from the `kubernetes-validate` package (dev extra), which bundles them per Kubernetes version, so
nothing is fetched. Strict mode: a field the schema does not know (a typo such as `readinesProbe`) fails too.
"""

from __future__ import annotations

import ast
import secrets
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from pydantic import ValidationError

from catalog.settings import PROJECT_ROOT, Environment, Settings

KUBERNETES = PROJECT_ROOT / "deploy" / "kubernetes"
SECRET_TEMPLATE = KUBERNETES / "secret.template.yaml"
PLACEHOLDER = "REPLACE_ME"
IMAGE = "product-catalog"
"""The image the Dockerfile builds (docker-compose.yml's `build: .`), retagged by kustomization.yaml."""
# The oldest Kubernetes minor still supported upstream when this was written, and the newest the package ships.
KUBERNETES_VERSIONS = ("1.31", kubernetes_validate.utils.latest_version())
KNOWN_SETTINGS = {f"CATALOG_{name.upper()}" for name in Settings.model_fields}
# deploy/kubernetes workload -> the docker-compose.yml service that runs the same command.
COMPOSE_SERVICE = {
    "catalog-db-upgrade": "migrate",
    "catalog-api": "api",
    "catalog-indexer": "indexer",
    "catalog-dashboard": "dashboard",
    "catalog-media-worker": "media-worker",
    "catalog-webhooks-worker": "webhooks",
    "catalog-redis": "redis",
}
WORKLOAD_KINDS = {"Deployment", "Job"}


def _load(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kustomization() -> dict[str, Any]:
    (doc,) = _load(KUBERNETES / "kustomization.yaml")
    return doc


def resources() -> list[dict[str, Any]]:
    """Every object kustomize applies, in the order of kustomization.yaml."""
    return [doc for name in kustomization()["resources"] for doc in _load(KUBERNETES / name)]


def by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in resources() if doc["kind"] == kind}


def workloads() -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in resources() if doc["kind"] in WORKLOAD_KINDS}


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def catalog_containers() -> dict[str, dict[str, Any]]:
    """The containers that run the catalog's image, by workload name (one each)."""
    found = {}
    for name, workload in workloads().items():
        for container in pod_spec(workload)["containers"]:
            if container["image"] == IMAGE:
                found[name] = container
    return found


def configmap() -> dict[str, str]:
    data: dict[str, str] = by_kind("ConfigMap")["catalog-config"]["data"]
    return data


def secret_template() -> dict[str, Any]:
    (doc,) = _load(SECRET_TEMPLATE)
    return doc


def compose_services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())["services"]
    return services


def test_kustomization_lists_every_manifest_and_only_existing_ones() -> None:
    listed = kustomization()["resources"]
    assert len(listed) == len(set(listed))
    on_disk = {p.name for p in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml", SECRET_TEMPLATE.name}
    assert set(listed) == on_disk, "a manifest kustomize would not apply, or one that is missing"
    assert SECRET_TEMPLATE.name not in listed, "the Secret template holds placeholders: it is never applied"
    assert kustomization()["namespace"] == "catalog"
    assert [image["name"] for image in kustomization()["images"]] == [IMAGE]
    names = [(doc["kind"], doc["metadata"]["name"]) for doc in resources()]
    assert len(names) == len(set(names)), "two objects of one kind with one name"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_validates_against_the_kubernetes_schemas(version: str) -> None:
    documents = [*resources(), secret_template()]
    assert {"Namespace", "ConfigMap", "Secret", "Job", "Deployment", "Service", "PodDisruptionBudget"} <= {
        doc["kind"] for doc in documents
    }
    for doc in documents:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']} on Kubernetes {version}: {path}: {error.message}")


def test_the_validator_rejects_what_kubernetes_would() -> None:
    """The schemas bite: a misspelt field and a wrong type are refused (so a green run above means something)."""
    api = by_kind("Deployment")["catalog-api"]
    typo = yaml.safe_load(yaml.safe_dump(api))
    container = pod_spec(typo)["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(typo, KUBERNETES_VERSIONS[-1], strict=True)
    wrong_type = yaml.safe_load(yaml.safe_dump(api))
    wrong_type["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong_type, KUBERNETES_VERSIONS[-1], strict=True)


def test_every_environment_variable_is_a_catalog_setting() -> None:
    names = set(configmap()) | set(secret_template()["stringData"])
    for name, container in catalog_containers().items():
        names |= {env["name"] for env in container.get("env", [])}
        refs = [ref.get("configMapRef", ref.get("secretRef"))["name"] for ref in container["envFrom"]]
        assert refs == ["catalog-config", "catalog-secrets"], name
    for workload in workloads().values():
        for container in pod_spec(workload)["containers"]:
            assert all(env["name"] in KNOWN_SETTINGS for env in container.get("env", []))
    assert names <= KNOWN_SETTINGS, f"not settings of catalog/settings.py: {sorted(names - KNOWN_SETTINGS)}"
    assert set(configmap()).isdisjoint(secret_template()["stringData"])


def test_the_configmap_with_real_secrets_is_a_valid_production_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in KNOWN_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(KUBERNETES)  # no .env of the work tree
    for name, value in configmap().items():
        monkeypatch.setenv(name, value)
    secret = {name: secrets.token_urlsafe(48) for name in secret_template()["stringData"]}
    for name, value in secret.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.environment is Environment.PRODUCTION
    assert settings.stack_managed is False
    # Writes go to the CloudNativePG primary (-rw), the dashboard's analytics to its read-only service (-ro).
    assert settings.postgres_host.startswith("catalog-pg-rw.")
    assert settings.read_address == (configmap()["CATALOG_POSTGRES_READ_HOST"], 5432)
    assert settings.read_address[0].startswith("catalog-pg-ro.") and settings.reads_elsewhere
    # One address for the OpenSearch service, so the replica count must be explicit: 1, a lost node loses no shard.
    assert settings.opensearch_hosts == [{"host": configmap()["CATALOG_OPENSEARCH_HOST"], "port": 9200}]
    assert settings.index_replica_count == 1
    assert not settings.s3_local_port, "production media on a real S3 endpoint, not the dev object store"


def test_the_secret_template_holds_placeholders_that_production_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    template = secret_template()
    assert template["metadata"]["name"] == "catalog-secrets" and template["type"] == "Opaque"
    assert set(template["stringData"]) == {
        "CATALOG_JWT_SECRET",
        "CATALOG_POSTGRES_PASSWORD",
        "CATALOG_S3_ACCESS_KEY",
        "CATALOG_S3_SECRET_KEY",
    }
    assert set(template["stringData"].values()) == {PLACEHOLDER}, "a template, never real values"
    assert "data" not in template
    for name in KNOWN_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(KUBERNETES)
    for name, value in {**configmap(), **template["stringData"]}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match="CATALOG_JWT_SECRET"):
        Settings()  # applied as it is, every catalog process would refuse to start


def test_the_api_probes_are_the_apis_own_routes() -> None:
    from api.health import health, ready

    api = by_kind("Deployment")["catalog-api"]
    assert api["spec"]["replicas"] == 2
    (container,) = pod_spec(api)["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert ready.paths == {"/ready"} and health.paths == {"/health"}
    assert "GET" in ready.http_methods and "GET" in health.http_methods
    # ... and both are mounted in the app (api/app.py's ROUTES), read without building the app.
    tree = ast.parse((PROJECT_ROOT / "api" / "app.py").read_text())
    routes = next(
        node.value
        for node in ast.walk(tree)
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "ROUTES")
        or (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "ROUTES" for t in node.targets))
    )
    assert isinstance(routes, ast.List | ast.Tuple)
    mounted = {element.id for element in routes.elts if isinstance(element, ast.Name)}
    assert {"health", "ready"} <= mounted
    port = int(configmap()["CATALOG_API_PORT"])
    assert container["ports"] == [{"name": "http", "containerPort": port}]
    assert "--port" in container["command"] and container["command"][container["command"].index("--port") + 1] == str(
        port
    )


def test_replicas_the_issue_asks_for() -> None:
    deployments = by_kind("Deployment")
    assert deployments["catalog-api"]["spec"]["replicas"] == 2
    # Several indexers on one outbox are safe (SKIP LOCKED claims, external versions:
    # tests/indexer/test_indexer_several.py).
    assert deployments["catalog-indexer"]["spec"]["replicas"] == 2
    assert {"catalog-dashboard", "catalog-media-worker", "catalog-webhooks-worker"} <= set(deployments)
    job = by_kind("Job")["catalog-db-upgrade"]
    assert pod_spec(job)["restartPolicy"] in ("OnFailure", "Never")
    pdb = by_kind("PodDisruptionBudget")["catalog-api"]
    assert pdb["spec"]["selector"]["matchLabels"] == deployments["catalog-api"]["spec"]["selector"]["matchLabels"]


def test_images_and_commands_are_docker_composes() -> None:
    services = compose_services()
    found = workloads()
    assert set(found) == set(COMPOSE_SERVICE), "every workload has its compose service and the other way round"
    for name, workload in found.items():
        service = services[COMPOSE_SERVICE[name]]
        (container,) = pod_spec(workload)["containers"]
        assert container["command"] == service["command"], name
        if "build" in service:
            assert service["build"] == "." and container["image"] == IMAGE, name
        else:
            assert container["image"] == service["image"], name
    built = {name for name, service in services.items() if service.get("build") == "." and "profiles" not in service}
    assert built == {COMPOSE_SERVICE[name] for name in catalog_containers()}, "a compose service not deployed"
    dashboard = catalog_containers()["catalog-dashboard"]
    assert str(configmap()["CATALOG_DASHBOARD_PORT"]) in dashboard["command"]


def test_services_select_their_pods_and_ports() -> None:
    deployments = by_kind("Deployment")
    for name, service in by_kind("Service").items():
        deployment = deployments[name]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items(), name
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items(), name
        ports = {port["name"] for c in pod_spec(deployment)["containers"] for port in c.get("ports", [])}
        assert {port["targetPort"] for port in service["spec"]["ports"]} <= ports, name
    assert {"catalog-api", "catalog-dashboard", "catalog-redis"} <= set(by_kind("Service"))
    assert configmap()["CATALOG_REDIS_HOST"] == "catalog-redis"


def test_every_pod_is_non_root_read_only_and_sized() -> None:
    for name, workload in workloads().items():
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] != 0, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, name
        volumes = {volume["name"]: volume for volume in spec.get("volumes", [])}
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), (name, bound)
            for mount in container.get("volumeMounts", []):
                assert "emptyDir" in volumes[mount["name"]], (name, mount)
    namespace = by_kind("Namespace")["catalog"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
