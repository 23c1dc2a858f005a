"""Ranking that weighs one field against another (a brand query: the brand's own products above products whose
name mentions it), on a database and search index of this module's own.

Which field wins depends on BM25 statistics (document counts, average field lengths) of the whole index, so in the
session's shared index the order depended on what the other tests had indexed before. Here `shop`, `auth_headers`
and `consumer` are this module's: the app, tokens and outbox consumer of `own_catalog` (tests/helpers/catalogs.py),
where the only documents are the ones each test writes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from catalog.settings import Settings
from indexer.stream import OutboxConsumer
from tests.helpers.catalogs import Headers, app_client, own_catalog, role_headers
from tests.helpers.search import create, ids, search, word

Client = AsyncTestClient[Litestar]


@pytest.fixture(scope="module")
def own(stack: Settings) -> Iterator[Settings]:
    with own_catalog(stack, "ranking") as settings:
        yield settings


@pytest.fixture(scope="module")
async def shop(own: Settings) -> AsyncIterator[Client]:
    """The API on this module's database and index."""
    async with app_client(own) as client:
        yield client


@pytest.fixture(scope="module")
def auth_headers(own: Settings) -> Headers:
    """`auth_headers(role)`: a token of that role for the app on `own`."""
    return role_headers(own)


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
