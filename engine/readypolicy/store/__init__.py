"""Evidence and decision stores: SQLite by default, PostgreSQL for teams."""
