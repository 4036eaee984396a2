"""Storage: SQLAlchemy models, the engine and the queries the rest of Jola runs."""
