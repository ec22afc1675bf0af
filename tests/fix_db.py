"""Database fixtures (private PostgreSQL per test session)."""
