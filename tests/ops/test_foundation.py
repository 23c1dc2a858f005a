"""The foundation: real services answer, the stack is idempotent, settings fail fast, compose matches."""

from __future__ import annotations

import os
import pwd
import re
import uuid
from pathlib import Path

import pytest
import redis
import yaml
from litestar import Litestar
from litestar.testing import AsyncTestClient
from opensearchpy import OpenSearch
from pydantic import ValidationError
from sqlalchemy import Engine, text

from catalog.settings import PROJECT_ROOT, Settings

Client = AsyncTestClient[Litestar]


def test_postgres_round_trip(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE probe (id int, note text)"))
        conn.execute(text("INSERT INTO probe VALUES (1, 'héllo')"))
        assert conn.execute(text("SELECT note FROM probe WHERE id = 1")).scalar_one() == "héllo"


def test_redis_set_get(stack: Settings) -> None:
    client = redis.Redis(host=stack.redis_host, port=stack.redis_port)
    key = f"test:{uuid.uuid4().hex}"
    client.set(key, "value", ex=30)
    assert client.get(key) == b"value"
    client.delete(key)


def test_opensearch_is_2_19_and_edge_ngram_analyzer_finds_a_prefix(stack: Settings) -> None:
    client = OpenSearch(hosts=[stack.opensearch_url])
    assert client.info()["version"]["number"].startswith("2.19.")
    index = f"test-foundation-{uuid.uuid4().hex[:8]}"
    client.indices.create(
        index=index,
        body={
            "settings": {
                "number_of_replicas": 0,
                "analysis": {
                    "filter": {"prefixes": {"type": "edge_ngram", "min_gram": 2, "max_gram": 15}},
                    "analyzer": {"prefix": {"tokenizer": "standard", "filter": ["lowercase", "prefixes"]}},
                },
            },
            "mappings": {"properties": {"name": {"type": "text", "analyzer": "prefix", "search_analyzer": "standard"}}},
        },
    )
    try:
        client.index(index=index, id="1", body={"name": "Wireless Headphones"}, refresh=True)
        hits = client.search(index=index, body={"query": {"match": {"name": "headph"}}})["hits"]["hits"]
        assert [hit["_id"] for hit in hits] == ["1"]
    finally:
        client.indices.delete(index=index)


def test_stack_up_twice_never_starts_a_second_copy(stack: Settings) -> None:
    from stack import manager

    before = {s.name: s.pid for s in manager.status(stack)}
    after = {s.name: s.pid for s in manager.up(stack, say=lambda _: None)}
    assert before == after
    assert all(s.healthy for s in manager.status(stack))


def test_production_refuses_a_missing_or_weak_jwt_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CATALOG_ENVIRONMENT", "production")
    monkeypatch.delenv("CATALOG_JWT_SECRET", raising=False)
    with pytest.raises(ValidationError, match="CATALOG_JWT_SECRET"):
        Settings()
    monkeypatch.setenv("CATALOG_JWT_SECRET", "short")
    with pytest.raises(ValidationError, match="CATALOG_JWT_SECRET"):
        Settings()
    monkeypatch.setenv("CATALOG_JWT_SECRET", "x" * 48)
    with pytest.raises(ValidationError, match="CATALOG_S3_SECRET_KEY"):
        Settings()  # nor the object store's development keys
    monkeypatch.setenv("CATALOG_S3_SECRET_KEY", "s" * 40)
    assert Settings().jwt_secret == "x" * 48


def test_docker_compose_matches_the_settings() -> None:
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    defaults = {name: field.default for name, field in Settings.model_fields.items()}
    assert {"postgres", "redis", "opensearch", "api", "indexer", "dashboard"} <= set(services)
    assert services["opensearch"]["image"].startswith("opensearchproject/opensearch:2.19")
    assert services["opensearch"]["environment"]["DISABLE_SECURITY_PLUGIN"] == "true"
    published = {name: [p.split(":")[-1] for p in svc.get("ports", [])] for name, svc in services.items()}
    assert published["api"] == [str(defaults["api_port"])]
    assert published["dashboard"] == [str(defaults["dashboard_port"])]
    assert published["postgres"] == [str(defaults["postgres_port"])]
    assert published["redis"] == [str(defaults["redis_port"])]
    assert published["opensearch"] == [str(defaults["opensearch_port"])]
    assert services["object-store"]["image"].startswith("versity/versitygw:")
    assert published["object-store"] == [str(Settings().s3_local_port)]
    store_env = services["object-store"]["environment"]
    assert services["api"]["environment"]["CATALOG_S3_ACCESS_KEY"] == store_env["ROOT_ACCESS_KEY"]
    assert services["api"]["environment"]["CATALOG_S3_SECRET_KEY"] == store_env["ROOT_SECRET_KEY"]
    env = services["api"]["environment"]
    known = {f"CATALOG_{name.upper()}" for name in Settings.model_fields}
    assert set(env) <= known, set(env) - known
    assert env["CATALOG_POSTGRES_USER"] == services["postgres"]["environment"]["POSTGRES_USER"]
    assert env["CATALOG_POSTGRES_DB"] == services["postgres"]["environment"]["POSTGRES_DB"]
    for name in ("api", "indexer", "dashboard"):
        assert services[name]["build"] == "."
    assert (PROJECT_ROOT / "Dockerfile").exists()
    default = {name for name, svc in services.items() if "profiles" not in svc}
    for name in default:  # the default stack only waits for default services
        assert set(_depends_on(services[name])) <= default, name
    for name in default & {"migrate", "api", "media-worker", "webhooks", "indexer", "dashboard"}:
        assert services[name]["environment"] == env, name


def _depends_on(service: dict[str, object]) -> list[str]:
    depends = service.get("depends_on", {})
    return list(depends) if isinstance(depends, dict | list) else []


def test_docker_compose_cluster_profile_matches_the_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`--profile cluster`: 3 OpenSearch nodes, a primary + streaming replica, 2 APIs and 2 indexers."""
    services = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())["services"]
    cluster = {name: svc for name, svc in services.items() if "cluster" in svc.get("profiles", [])}
    nodes = {"opensearch-1", "opensearch-2", "opensearch-3"}
    assert set(cluster) == nodes | {
        "postgres-primary",
        "postgres-replica",
        "migrate-cluster",
        "api-1",
        "api-2",
        "indexer-1",
        "indexer-2",
    }
    known = {f"CATALOG_{name.upper()}" for name in Settings.model_fields}
    default_env = services["api"]["environment"]
    catalog = {name: svc for name, svc in cluster.items() if svc.get("build") == "."}
    assert set(catalog) == {"migrate-cluster", "api-1", "api-2", "indexer-1", "indexer-2"}
    env = catalog["api-1"]["environment"]
    for name, svc in catalog.items():
        assert svc["environment"] == env, name  # one anchor for all of them
    assert set(env) <= known, set(env) - known
    # The same settings as the default services, except where the replicated servers are.
    changed = {key for key in env if default_env.get(key) != env[key]}
    assert changed == {
        "CATALOG_POSTGRES_HOST",
        "CATALOG_POSTGRES_READ_HOST",
        "CATALOG_POSTGRES_READ_PORT",
        "CATALOG_REDIS_DB",
        "CATALOG_OPENSEARCH_ADDRESSES",
        "CATALOG_INDEX_SHARDS",
        "CATALOG_INDEX_REPLICAS",
        "CATALOG_S3_BUCKET",
        "CATALOG_MEDIA_BASE_URL",
    }
    assert set(default_env) <= set(env)
    # Commands are the default services' own.
    for prefix, default in (("api-", "api"), ("indexer-", "indexer"), ("migrate-", "migrate")):
        for name in (n for n in catalog if n.startswith(prefix)):
            assert catalog[name]["command"] == services[default]["command"], name
    # OpenSearch: three nodes of the default image forming one cluster, every one of them an address of the clients.
    for name in nodes:
        node = cluster[name]
        assert node["image"] == services["opensearch"]["image"]
        node_env = node["environment"]
        assert node_env["node.name"] == name and "discovery.type" not in node_env
        assert set(node_env["discovery.seed_hosts"].split(",")) == nodes
        assert set(node_env["cluster.initial_cluster_manager_nodes"].split(",")) == nodes
        assert node_env["DISABLE_SECURITY_PLUGIN"] == "true"
        assert f"{name}:{env['CATALOG_OPENSEARCH_PORT']}" in env["CATALOG_OPENSEARCH_ADDRESSES"].split(",")
        assert node["ports"][0].split(":")[-1] == env["CATALOG_OPENSEARCH_PORT"]
        assert {"opensearch-1", "opensearch-2", "opensearch-3"} <= set(catalog["api-1"]["depends_on"])
    assert len({cluster[name]["environment"]["cluster.name"] for name in nodes}) == 1
    # PostgreSQL: the catalog writes to the primary and reads analytics from a streaming replica of it.
    primary, replica = cluster["postgres-primary"], cluster["postgres-replica"]
    assert (
        env["CATALOG_POSTGRES_HOST"] == "postgres-primary" and env["CATALOG_POSTGRES_READ_HOST"] == "postgres-replica"
    )
    assert primary["environment"]["POSTGRES_USER"] == env["CATALOG_POSTGRES_USER"]
    assert primary["environment"]["POSTGRES_PASSWORD"] == env["CATALOG_POSTGRES_PASSWORD"]
    assert primary["environment"]["POSTGRES_DB"] == env["CATALOG_POSTGRES_DB"]
    clone = " ".join(replica["command"])
    assert "pg_basebackup -h postgres-primary -U catalog" in clone and " -R " in clone and "-X stream" in clone
    assert "hot_standby=on" in clone
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    hba = compose["configs"][primary["configs"][0]["source"]]["content"]
    assert "host replication catalog" in hba
    # Nothing published twice, on the host, by the two stacks together.
    published = [p.rsplit(":", 1)[0] for svc in services.values() for p in svc.get("ports", [])]
    assert len(published) == len(set(published)), published
    # And the cluster's settings load (`${VAR:-default}` interpolated as compose does with VAR unset).
    for name in known:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env
    for key, value in env.items():
        monkeypatch.setenv(key, re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value)))
    settings = Settings()
    assert settings.reads_elsewhere and settings.index_replica_count == 1
    assert settings.redis_db != Settings.model_fields["redis_db"].default


def test_readme_commands_are_the_ones_ci_runs() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    ci = (PROJECT_ROOT / ".ci" / "run").read_text()
    assert "make run" in readme and "make test" in readme
    assert "make test" in ci


async def test_health_ready_and_schema(client: Client) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"postgres": "ok", "redis": "ok", "opensearch": "ok"}
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/products" in schema["paths"] and "/products/{product_id}" in schema["paths"]
    assert "BearerToken" in schema["components"]["securitySchemes"]
    assert "401" in schema["paths"]["/products"]["get"]["responses"]


async def test_unknown_route_wrong_method_and_oversized_body_use_the_error_body(
    client: Client, settings: Settings
) -> None:
    missing = await client.get("/no/such/route")
    assert missing.status_code == 404 and missing.json()["code"] == "ROUTE_NOT_FOUND"
    wrong = await client.patch("/health")
    assert wrong.status_code == 405 and wrong.json()["code"] == "METHOD_NOT_ALLOWED"
    big = await client.post(
        "/users", content=b"x" * (settings.max_request_body_bytes + 1), headers={"content-type": "application/json"}
    )
    assert big.status_code == 413 and big.json()["code"] == "REQUEST_TOO_LARGE"


async def test_responses_carry_request_id_and_security_headers(client: Client) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "abc123"})
    assert response.headers["x-request-id"] == "abc123"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert (await client.get("/health")).headers["x-request-id"]


def test_stack_data_lives_under_the_git_ignored_stack_dir_or_the_postgres_users_home(stack: Settings) -> None:
    from stack import manager

    assert stack.stack_dir == PROJECT_ROOT / ".stack"
    assert ".stack/" in (PROJECT_ROOT / ".gitignore").read_text().splitlines()
    data = {s.name: s.data for s in manager.status(stack)}
    assert data["redis"] == stack.stack_dir / "redis"
    assert data["opensearch"] is not None and data["opensearch"].is_relative_to(stack.stack_dir)
    postgres = data["postgres"]
    assert postgres is not None and (postgres / "data" / "PG_VERSION").exists()
    if os.geteuid() == 0:  # run as `postgres`, which may not enter the clone: kept in that user's own home
        home = Path(pwd.getpwnam("postgres").pw_dir)
        assert postgres.is_relative_to(home) and postgres.stat().st_uid == pwd.getpwnam("postgres").pw_uid
        assert postgres.stat().st_mode & 0o777 == 0o700
    else:
        assert postgres == stack.stack_dir / "postgres"


async def test_metrics_expose_request_latency_per_route_group_and_outbox_lag(client: Client) -> None:
    await client.get("/health")
    await client.get("/no-such-route")
    await client.put("/health")
    body = (await client.get("/metrics")).text
    assert 'catalog_http_requests_total{method="GET",route_group="health",status="200"}' in body
    assert 'catalog_http_requests_total{method="GET",route_group="other",status="404"}' in body
    assert 'catalog_http_requests_total{method="PUT",route_group="health",status="405"}' in body
    assert 'catalog_http_request_duration_seconds_bucket{le="0.005",route_group="health"}' in body
    assert "catalog_outbox_pending_changes " in body
    assert "catalog_outbox_oldest_pending_age_seconds " in body
