"""The import worker of the spreadsheet import and export tests, running in the test's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from api.imports.worker import ImportWorker
from catalog.settings import Settings


@pytest.fixture
async def import_worker(settings: Settings, database: str) -> AsyncIterator[ImportWorker]:
    worker = ImportWorker(settings.model_copy(update={"webhook_poll_interval": 0.05}))
    task = asyncio.create_task(worker.run())
    yield worker
    worker.stop.set()
    await asyncio.wait_for(task, 30)
