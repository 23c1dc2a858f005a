"""Native dev stack: project-local PostgreSQL, Redis and OpenSearch under `.stack/`, no Docker needed."""
