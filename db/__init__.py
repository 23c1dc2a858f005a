"""The only package that knows tables and sessions: SQLModel tables, engines, migrations, seed data, the SQL the
parts share (`outbox`, `changes`, `analytics/`, ...) and the pure rules both the API and the seed apply. Imports only
the shared base."""
