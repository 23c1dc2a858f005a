"""The catalog's S3 client (boto3): any S3 endpoint by settings, failures reported as StorageUnavailable.

boto3 is AWS's own client: SigV4 signing, presigned URLs, retries with backoff, and it speaks to AWS S3 and to
S3-compatible servers (versitygw here) alike by endpoint URL. Its client is thread-safe, so one serves a process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from catalog.settings import Settings

IMMUTABLE = "public, max-age=31536000, immutable"
_MISSING = {"404", "NoSuchKey", "NotFound"}


class StorageUnavailable(RuntimeError):
    """The object store did not answer, or refused a request that should succeed."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    content_type: str
    last_modified: datetime | None = None


def s3_client(settings: Settings, endpoint: str, pool: int = 10, timeout_s: float = 15.0, attempts: int = 2) -> Any:
    """A boto3 S3 client for `endpoint` (empty: AWS's own) with the catalog's keys, SigV4, path-style URLs."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint or None,
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key,
        region_name=settings.s3_region,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            connect_timeout=min(2.0, timeout_s),
            read_timeout=timeout_s,
            retries={"max_attempts": attempts, "mode": "standard"},
            max_pool_connections=pool,
        ),
    )


def _missing(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    return str(error.get("Code")) in _MISSING or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404


class MediaStore:
    """One bucket of one S3 endpoint. Every method raises StorageUnavailable when the store cannot be used."""

    def __init__(self, settings: Settings, pool: int = 32) -> None:
        self.bucket = settings.s3_bucket
        self.client = s3_client(settings, settings.s3_endpoint_url, pool)
        public = settings.s3_public_endpoint_url
        self._presigner = s3_client(settings, public, 2) if public else self.client
        self._bucket_ready = False
        self._lock = threading.Lock()

    def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            if _missing(exc):
                raise
            raise StorageUnavailable(f"object store refused {method}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"object store unreachable ({method}): {exc}") from exc

    def ensure_bucket(self) -> None:
        """Create the bucket on first use (once per process; idempotent across processes)."""
        if self._bucket_ready:
            return
        with self._lock:
            if self._bucket_ready:
                return
            try:
                self._call("head_bucket")
            except ClientError:
                try:
                    self._call("create_bucket")
                except ClientError as exc:
                    raise StorageUnavailable(f"cannot create bucket {self.bucket}: {exc}") from exc
            self._bucket_ready = True

    def put(self, key: str, data: bytes, content_type: str, cache_control: str = IMMUTABLE) -> None:
        self.ensure_bucket()
        self._call("put_object", Key=key, Body=data, ContentType=content_type, CacheControl=cache_control)

    def head(self, key: str) -> ObjectInfo | None:
        try:
            found = self._call("head_object", Key=key)
        except ClientError:
            return None
        return ObjectInfo(key, int(found["ContentLength"]), str(found.get("ContentType") or ""))

    def read(self, key: str, limit: int | None = None) -> bytes | None:
        """The object's bytes (at most `limit` + 1 of them), or None when there is no such object."""
        extra = {"Range": f"bytes=0-{limit}"} if limit is not None else {}
        try:
            body = self._call("get_object", Key=key, **extra)["Body"]
        except ClientError:
            return None
        return self.drain(body)

    @staticmethod
    def drain(body: Any) -> bytes:
        """All of an opened object's bytes; the body is closed either way."""
        try:
            return bytes(body.read())
        except (BotoCoreError, OSError) as exc:
            raise StorageUnavailable(f"object store dropped a read: {exc}") from exc
        finally:
            body.close()

    def open(self, key: str) -> tuple[Any, ObjectInfo] | None:
        """A streaming body (call `.iter_chunks()`, then `.close()`) and the object's size and type."""
        try:
            found = self._call("get_object", Key=key)
        except ClientError:
            return None
        return found["Body"], ObjectInfo(key, int(found["ContentLength"]), str(found.get("ContentType") or ""))

    def copy(self, source: str, target: str, content_type: str, cache_control: str = IMMUTABLE) -> None:
        """Server-side copy (the bytes never pass through the API), with the target's own headers."""
        self._call(
            "copy_object",
            Key=target,
            CopySource={"Bucket": self.bucket, "Key": source},
            ContentType=content_type,
            CacheControl=cache_control,
            MetadataDirective="REPLACE",
        )

    def delete(self, keys: list[str]) -> None:
        """Delete objects (absent ones are no error), up to 1000 per request."""
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            result = self._call("delete_objects", Delete={"Objects": batch, "Quiet": True})
            if result.get("Errors"):
                raise StorageUnavailable(f"object store kept {len(result['Errors'])} objects: {result['Errors'][:3]}")

    def iter_objects(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object under `prefix`, one listing page (1000) at a time."""
        self.ensure_bucket()
        token: str | None = None
        while True:
            page = self._call("list_objects_v2", Prefix=prefix, **({"ContinuationToken": token} if token else {}))
            for item in page.get("Contents", []):
                yield ObjectInfo(str(item["Key"]), int(item["Size"]), "", item.get("LastModified"))
            if not page.get("IsTruncated"):
                return
            token = page.get("NextContinuationToken")

    def presign_put(self, key: str, expires_in: int) -> str:
        """A URL anyone can PUT the object's bytes to until it expires (no credentials needed)."""
        self.ensure_bucket()
        url: str = self._presigner.generate_presigned_url(
            "put_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in, HttpMethod="PUT"
        )
        return url
