"""Ranking that weighs one field against another (a brand query: the brand's own products above products whose
name mentions it), on a database and search index of this module's own.

Which field wins depends on BM25 statistics (document counts, average field lengths) of the whole index, so in the
session's shared index the order depended on what the other tests had indexed before. Here `shop`, `auth_headers`
and `consumer` are this module's: the app, tokens and outbox consumer of `own_catalog` (tests/helpers/catalogs.py),
where the only documents are the ones each test writes.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from catalog.settings import Settings
from indexer.stream import OutboxConsumer
from tests.helpers.catalogs import own_catalog
from tests.helpers.search import create, ids, search, word

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


@pytest.fixture(scope="module")
def own(stack: Settings) -> Iterator[Settings]:
    with own_catalog(stack, "ranking") as settings:
        yield settings


@pytest.fixture(scope="module")
async def shop(own: Settings) -> AsyncIterator[Client]:
    """The API on this module's database and index."""
    from api.app import create_app

    async with AsyncTestClient(app=create_app(own)) as client:
        yield client


@pytest.fixture(scope="module")
def auth_headers(own: Settings) -> Headers:
    """`auth_headers(role)`: a token of that role, signed as the app on `own` expects (tokens carry the roles)."""
    from api.auth.security import issue_token

    def headers(role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(own, uuid.uuid4(), [role])}"}

    return headers


@pytest.fixture
def consumer(own: Settings) -> Iterator[OutboxConsumer]:
    """An in-process outbox consumer from this module's database into its index."""
    from indexer.options import IndexerOptions

    outbox_consumer = OutboxConsumer(own, IndexerOptions(batch_size=200, backoff_base=0.05))
    yield outbox_consumer
    outbox_consumer.close()


async def test_a_brand_query_ranks_the_brands_own_products_above_ones_that_mention_it(
        shop: Client, auth_headers: Headers, consumer: OutboxConsumer, unique: str) -> None:
    w = word(unique)
    mentions = await create(shop, auth_headers, name=f"Card reader for {w}box cases", description="Plain.",
                            brand="Acme", attributes={})
    own = await create(shop, auth_headers, name="Defender Series Case", description="Plain.", brand=f"{w}box",
                       attributes={})
    consumer.drain()
    assert ids(await search(shop, q=f"{w}box")) == [own["id"], mentions["id"]]
