"""The only package that knows tables and sessions: SQLModel tables, engines, migrations, seed data."""
