"""The routing export, against a real PostgreSQL proxy database."""
