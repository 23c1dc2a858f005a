"""The media tests' session fixtures: the session's own bucket, and the thumbnail worker as a real process."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from catalog.settings import PROJECT_ROOT, Settings
from stack.processes import stop_child

BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def media_bucket(stack: Settings) -> Iterator[str]:
    """The session's own bucket (tests/conftest.py names it), emptied and removed at the end."""
    from media.store import MediaStore

    store = MediaStore(stack)
    store.ensure_bucket()
    yield stack.s3_bucket
    with contextlib.suppress(ClientError):
        store.delete([item.key for item in store.iter_objects()])
        store.client.delete_bucket(Bucket=stack.s3_bucket)


@pytest.fixture(scope="session")
def thumbnail_worker(
    media_bucket: str, database: str, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    """`catalog media worker` as its own process on the session's database and bucket."""
    log = tmp_path_factory.mktemp("media") / "worker.log"
    env = {**os.environ, "CATALOG_THUMBNAIL_POLL_INTERVAL": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(BIN / "catalog"), "media", "worker"], env=env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    yield process
    stop_child(process, 15)
