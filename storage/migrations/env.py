"""Alembic environment: migrations run on a connection handed over by storage.migrate (never a URL here)."""

from alembic import context

from storage.migrate import only_on
from storage.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through storage.migrate.upgrade (jola serve does it at start)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_object=only_on(connection.dialect.name),
)
with context.begin_transaction():
    context.run_migrations()
