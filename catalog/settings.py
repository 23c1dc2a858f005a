"""One typed settings object, read from `CATALOG_*` environment variables (and an optional `.env`)."""

from __future__ import annotations

import os
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEVELOPMENT_JWT_SECRET = "dev-only-secret-change-me-in-production-0123456789"
MIN_JWT_SECRET_LENGTH = 32
DEVELOPMENT_S3_ACCESS_KEY = "catalog-dev"
DEVELOPMENT_S3_SECRET_KEY = "dev-only-s3-secret-change-me-in-production"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Every knob of the catalog. Ports default to the well-known ones, all on 127.0.0.1."""

    model_config = SettingsConfigDict(env_prefix="CATALOG_", env_file=".env", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT

    # HTTP API
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # API worker processes (one per core by default); `catalog run` / `catalog api` supervise them.
    api_workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, le=64)
    max_request_body_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    cors_allow_origins: list[str] = Field(default_factory=list)
    default_currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")

    # Dashboard
    dashboard_port: int = 8501

    # PostgreSQL
    postgres_host: str = "127.0.0.1"
    postgres_port: int = 5432
    postgres_user: str = "catalog"
    postgres_password: str = "catalog"
    postgres_db: str = "catalog"
    postgres_pool_size: int = 10

    # PostgreSQL streaming replica and read-only analytics. CATALOG_POSTGRES_REPLICA=true makes `catalog stack up`
    # run a hot standby of the primary on postgres_replica_port. The dashboard reads from the read server:
    # CATALOG_POSTGRES_READ_HOST/PORT/DB/USER/PASSWORD, each defaulting to the stack's replica when it is on (host
    # and port) or else to the primary, so with nothing set it reads the primary. Writes always go to the primary.
    postgres_replica: bool = False
    postgres_replica_port: int = 5433
    postgres_read_host: str | None = None
    postgres_read_port: int | None = None
    postgres_read_db: str | None = None
    postgres_read_user: str | None = None
    postgres_read_password: str | None = None
    postgres_read_connect_timeout: int = Field(default=2, ge=1, le=30)
    """Seconds to wait for the read server before reading from the primary instead."""

    # Redis
    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    redis_db: int = 0

    # Object storage for product media: any S3 endpoint (AWS S3 in production: set the endpoint to
    # https://s3.<region>.amazonaws.com). On 127.0.0.1 with a managed stack, `catalog stack up` runs versitygw.
    s3_endpoint_url: str = "http://127.0.0.1:7070"
    s3_public_endpoint_url: str | None = None
    """Where clients reach the store with presigned upload URLs, when not at s3_endpoint_url."""
    s3_access_key: str = DEVELOPMENT_S3_ACCESS_KEY
    s3_secret_key: str = DEVELOPMENT_S3_SECRET_KEY
    s3_bucket: str = Field(default="catalog-media", pattern=r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
    s3_region: str = "us-east-1"
    max_image_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_image_pixels: int = Field(default=50_000_000, ge=1)
    """Above this many pixels an upload is refused as a decompression bomb (20000x20000 is 400 M)."""
    media_base_url: str = Field(default="", pattern=r"^(https?://\S+)?$")
    """What image URLs start with, before the object key: e.g. a CDN in front of the API's /media;
    empty: `http://<api_host>:<api_port>/media`."""
    media_upload_ttl_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    thumbnail_poll_interval: float = Field(default=5.0, gt=0)

    # OpenSearch
    opensearch_host: str = "127.0.0.1"
    opensearch_port: int = 9200
    opensearch_transport_port: int = 9300
    opensearch_heap: str = "1g"
    index_alias: str = Field(default="products", pattern=r"^[a-z][a-z0-9_\-]*$")
    index_refresh_interval: str = Field(default="1s", pattern=r"^(-1|\d+(ms|s|m))$")

    # OpenSearch cluster. CATALOG_OPENSEARCH_NODES=3 makes `catalog stack up` run three nodes on this machine,
    # node i (from 0) on opensearch_port + i (HTTP) and opensearch_transport_port + i, each with opensearch_heap;
    # the API, indexer and dashboard connect to every one of them (`opensearch_hosts`). One node (the default)
    # is the single-node stack. Index shape: CATALOG_INDEX_SHARDS, CATALOG_INDEX_REPLICAS (unset: 1 replica
    # with two or more nodes, so a lost node loses no shard, else 0); they apply to indices created from then on.
    opensearch_nodes: int = Field(default=1, ge=1, le=9)
    opensearch_addresses: str = Field(default="", pattern=r"^([A-Za-z0-9.\-]+:\d{1,5}(,[A-Za-z0-9.\-]+:\d{1,5})*)?$")
    """A cluster elsewhere (containers, Kubernetes): `host:port,host:port,...` of its nodes; replaces the
    consecutive local ports when set."""
    index_shards: int = Field(default=1, ge=1, le=64)
    index_replicas: int | None = Field(default=None, ge=0, le=8)

    # Indexer
    indexer_batch_size: int = Field(default=500, ge=1, le=10_000)
    indexer_batch_bytes: int = Field(default=5 * 1024 * 1024, ge=64 * 1024)
    indexer_poll_interval: float = Field(default=1.0, gt=0)
    # "refresh": refresh explicitly before marking a batch searchable (lowest lag); "wait_for": ride the
    # scheduled refresh (cheaper under heavy writes, ~1.5 refresh intervals of lag).
    indexer_visibility: Literal["refresh", "wait_for"] = "refresh"
    outbox_retention_hours: float = Field(default=24.0, gt=0)

    # Change feed (GET /changes) and webhooks (`catalog webhooks worker`)
    changes_retention_hours: float = Field(default=168.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_concurrency_per_endpoint: int = Field(default=4, ge=1, le=64)
    webhook_backoff_base_seconds: float = Field(default=10.0, gt=0)
    webhook_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    webhook_retry_hours: float = Field(default=24.0, gt=0)
    webhook_poll_interval: float = Field(default=1.0, gt=0)
    webhook_low_stock_default: int = Field(default=5, ge=0)
    # Product feeds (GET /feeds/google-merchant.xml|.tsv): where a product's page lives, `{sku}` filled in.
    storefront_product_url: str = "https://shop.example.com/products/{sku}"

    # Auth
    jwt_secret: str = DEVELOPMENT_JWT_SECRET
    jwt_issuer: str = "product-catalog"
    jwt_audience: str = "product-catalog-api"
    jwt_ttl_seconds: int = Field(default=3600, ge=60)

    # Rate limits (requests per minute); 0 disables a limit.
    rate_limit_per_minute: int = Field(default=1200, ge=0)
    auth_rate_limit_per_minute: int = Field(default=20, ge=0)

    # Storefront search keys and events
    search_require_key: bool = False
    """True: /search and /search/suggest answer only requests with a valid `X-Search-Key` (POST /search/keys)."""
    search_event_window_seconds: int = Field(default=86400, ge=1)
    """How long after a search its `query_id` accepts click and conversion events (POST /search/events)."""

    # Native dev stack: when true, `catalog stack up` runs project-local servers under stack_dir.
    # Set to false to point the catalog at servers you already run.
    stack_managed: bool = True
    stack_dir: Path = PROJECT_ROOT / ".stack"

    @model_validator(mode="after")
    def _refuse_weak_secret_outside_development(self) -> Settings:
        weak = self.jwt_secret == DEVELOPMENT_JWT_SECRET or len(self.jwt_secret) < MIN_JWT_SECRET_LENGTH
        if self.environment is Environment.PRODUCTION and weak:
            raise ValueError(
                "CATALOG_JWT_SECRET is missing or weak: outside development set it to a random "
                f"string of at least {MIN_JWT_SECRET_LENGTH} characters "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)."
            )
        return self

    @model_validator(mode="after")
    def _refuse_development_s3_keys_in_production(self) -> Settings:
        if self.environment is Environment.PRODUCTION and self.s3_secret_key == DEVELOPMENT_S3_SECRET_KEY:
            raise ValueError("CATALOG_S3_SECRET_KEY is the development default: set the object store's real keys.")
        return self

    @property
    def database_url(self) -> str:
        """SQLAlchemy URL (psycopg 3 driver) for the catalog database."""
        return self.database_url_for(self.postgres_db)

    def database_url_for(self, database: str) -> str:
        return (
            f"postgresql+psycopg://{self.postgres_user}:{self.postgres_password}"
            f"@{self.postgres_host}:{self.postgres_port}/{database}"
        )

    @property
    def postgres_dsn(self) -> str:
        """libpq connection string for plain psycopg."""
        return self.postgres_dsn_for(self.postgres_db)

    @property
    def admin_dsn(self) -> str:
        """The server's `postgres` database: where databases are created and dropped."""
        return self.postgres_dsn_for("postgres")

    def postgres_dsn_for(self, database: str) -> str:
        return (
            f"host={self.postgres_host} port={self.postgres_port} user={self.postgres_user} "
            f"password={self.postgres_password} dbname={database}"
        )

    @property
    def read_address(self) -> tuple[str, int]:
        """Host and port of the server read-only analytics read from (see the replica settings)."""
        if self.postgres_read_host is not None or self.postgres_read_port is not None:
            return (self.postgres_read_host or self.postgres_host, self.postgres_read_port or self.postgres_port)
        if self.postgres_replica:
            return ("127.0.0.1", self.postgres_replica_port)
        return (self.postgres_host, self.postgres_port)

    @property
    def reads_elsewhere(self) -> bool:
        """True when the read server is not the primary (a replica): reads may lag and may fall back."""
        return self.read_address != (self.postgres_host, self.postgres_port)

    @property
    def read_database_url(self) -> str:
        """SQLAlchemy URL of the read server (the primary's when no read server is set)."""
        host, port = self.read_address
        user, password, database = self._read_login()
        return f"postgresql+psycopg://{user}:{password}@{host}:{port}/{database}"

    @property
    def read_dsn(self) -> str:
        """libpq connection string of the read server, with its short connect timeout."""
        host, port = self.read_address
        user, password, database = self._read_login()
        return (
            f"host={host} port={port} user={user} password={password} dbname={database} "
            f"connect_timeout={self.postgres_read_connect_timeout}"
        )

    def _read_login(self) -> tuple[str, str, str]:
        return (
            self.postgres_read_user or self.postgres_user,
            self.postgres_read_password or self.postgres_password,
            self.postgres_read_db or self.postgres_db,
        )

    @property
    def redis_url(self) -> str:
        return f"redis://{self.redis_host}:{self.redis_port}/{self.redis_db}"

    @property
    def media_url_prefix(self) -> str:
        return self.media_base_url.rstrip("/") or f"http://{self.api_host}:{self.api_port}/media"

    @property
    def s3_local_port(self) -> int | None:
        """The port of an object store on this machine (which a managed stack runs), else None."""
        url = urlsplit(self.s3_endpoint_url)
        if url.hostname in ("127.0.0.1", "localhost") and url.scheme == "http":
            return url.port or 80
        return None

    @property
    def opensearch_url(self) -> str:
        return f"http://{self.opensearch_host}:{self.opensearch_port}"

    @property
    def opensearch_hosts(self) -> list[dict[str, str | int]]:
        """Every node the clients connect to: CATALOG_OPENSEARCH_ADDRESSES when set, else `opensearch_nodes`
        consecutive HTTP ports from opensearch_port."""
        if self.opensearch_addresses:
            pairs = (address.rpartition(":") for address in self.opensearch_addresses.split(","))
            return [{"host": host, "port": int(port)} for host, _, port in pairs]
        return [{"host": self.opensearch_host, "port": self.opensearch_port + i} for i in range(self.opensearch_nodes)]

    @property
    def index_replica_count(self) -> int:
        """CATALOG_INDEX_REPLICAS, or 1 when there are two or more nodes, else 0."""
        if self.index_replicas is not None:
            return self.index_replicas
        return 1 if self.opensearch_nodes > 1 else 0

    @model_validator(mode="after")
    def _refuse_overlapping_opensearch_ports(self) -> Settings:
        http = range(self.opensearch_port, self.opensearch_port + self.opensearch_nodes)
        transport = range(self.opensearch_transport_port, self.opensearch_transport_port + self.opensearch_nodes)
        if set(http) & set(transport):
            raise ValueError(
                f"{self.opensearch_nodes} OpenSearch nodes need HTTP ports {http.start}-{http.stop - 1} and "
                f"transport ports {transport.start}-{transport.stop - 1}, which overlap: set "
                "CATALOG_OPENSEARCH_PORT and CATALOG_OPENSEARCH_TRANSPORT_PORT further apart."
            )
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
