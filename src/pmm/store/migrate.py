"""Alembic, shipped inside the package and driven from code (`pmm db upgrade`)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from pmm.errors import PmmError
from pmm.i18n import _
from pmm.store.engine import display_url, get_engine

_checked: set[str] = set()


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", "pmm.store:migrations")
    return config


def head() -> str:
    """The newest schema revision this version of the code knows."""
    return ScriptDirectory.from_config(_config()).get_current_head() or ""


def current(engine: Engine) -> str | None:
    """The schema revision of the database (None: never upgraded)."""
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise PmmError(_("Cannot open the database {url}: {error}").format(
            url=display_url(str(engine.url)), error=str(exc.orig).strip())) from None


def upgrade(url: str | None = None, revision: str = "head") -> str:
    """Bring the database to `revision` (default: the newest); returns the revision reached."""
    engine = get_engine(url)
    current(engine)  # a clear message when the database cannot be reached
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    _checked.discard(_key(engine))
    return current(engine) or ""


def ensure_current(engine: Engine) -> None:
    """Refuse to work on a database whose schema is not this code's (checked once per engine)."""
    if _key(engine) in _checked:
        return
    found, wanted = current(engine), head()
    if found != wanted:
        where = display_url(str(engine.url))
        if found is None:
            raise PmmError(_("The database {url} is not initialised: run `pmm db upgrade` "
                             "first.").format(url=where))
        raise PmmError(_("The database {url} is at schema revision {found}, this version needs "
                         "{wanted}: run `pmm db upgrade`.").format(url=where, found=found,
                                                                    wanted=wanted))
    _checked.add(_key(engine))


def _key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def forget() -> None:
    """Check schemas again from now on (after engines were disposed)."""
    _checked.clear()
