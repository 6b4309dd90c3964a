"""Alembic environment: migrates the connection handed over by `handoff.infra.db.upgrade`, or (run by hand)
an engine built from the configured URL / Settings.DATABASE_URL."""

from __future__ import annotations

from alembic import context

from handoff.loans.tables import LoanBase
from handoff.models import Base

# The service's tables and those of the reference loan system (handoff/loans/tables.py).
target_metadata = [Base.metadata, LoanBase.metadata]


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # type: ignore[attr-defined]
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from handoff.config import Settings
    from handoff.infra.db import make_engine

    url = context.config.get_main_option("sqlalchemy.url") or Settings().DATABASE_URL
    engine = make_engine(url)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


def run_migrations_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
