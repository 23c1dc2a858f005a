"""The session's run id (it names the test database, index alias and bucket) and the test users' password.

Imported by tests/conftest.py before any `catalog` module, so this module must not import the project.
"""

from __future__ import annotations

import uuid

RUN_ID = uuid.uuid4().hex[:8]
TEST_PASSWORD = "correct horse battery staple"
