"""Flask extensions, created unbound and initialised in create_app()."""

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy import MetaData
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
htmx = Htmx()  # request.htmx: HX-* request headers
babel = Babel()


def read_columns(statement, params: dict):
    """The rows of a SELECT of columns (no ORM entities) run on the session's connection:
    the session's ORM layer (its compile state, result wrapping) cost about a fifth of each
    such statement's Python on the record page (#24). Pending changes are flushed first,
    as the session's autoflush would."""
    db.session.flush()
    return db.session.connection().execute(statement, params)


def fetch_binary(connection, sql: str, params: dict) -> list[tuple]:
    """The rows of a SELECT given as PostgreSQL text (psycopg's %(name)s parameters), run
    by psycopg on `connection` (a SQLAlchemy Connection: the session's, in its
    transaction) with results in binary, as plain tuples: no SQLAlchemy row per result
    and no text to parse per value, for a statement that reads hundreds of rows a view
    (the week grid's meetings, #21). As Connection.execute would: the engine's
    before_cursor_execute listeners see the statement (readonly's check for writes, the
    tests' query counts), and a driver error is raised as SQLAlchemy's, the connection
    invalidated when it was lost."""
    dbapi = connection.dialect.loaded_dbapi
    with connection.connection.cursor(binary=True) as cursor:
        connection.dispatch.before_cursor_execute(connection, cursor, sql, params, None, False)
        try:
            return cursor.execute(sql, params).fetchall()
        except dbapi.Error as error:
            lost = connection.dialect.is_disconnect(error, connection.connection, cursor)
            if lost:
                connection.invalidate(error)
            raise DBAPIError.instance(sql, params, error, dbapi.Error,
                                      dialect=connection.dialect,
                                      connection_invalidated=lost) from error
