"""The database: one SQLAlchemy engine, migrations applied on open, clear errors.

SQLite (a file, WAL mode) is the default; a ``postgresql://`` URL uses the same code.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DatabaseError, NoSuchModuleError, OperationalError

from kidshield.errors import StorageError

MIGRATIONS = Path(__file__).parent / "migrations"
# PostgreSQL advisory lock held while migrating (any number: it only has to be the same in
# every kidshield process; this is "kidshield" in ASCII).
MIGRATION_LOCK = 0x6B69647368696C64
# How long a process waits for another one's migration (SQLite's busy timeout while migrating).
MIGRATION_WAIT_SECONDS = 120
# After this long without the migration done, the start says it is waiting for the database.
LOCK_NOTICE_SECONDS = 5.0
log = logging.getLogger("kidshield.storage")


def database_url(path_or_url: str | Path) -> str:
    text = str(path_or_url)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any, busy_ms: int = 5000) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={busy_ms}")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _private_file(path: Path) -> None:
    """Create a new SQLite file readable by its owner alone: it holds the children's query
    log, reports, sessions and the CSRF key, and with the usual umask SQLite would make it
    world-readable on a shared machine. SQLite gives the -wal and -shm files it makes later
    the mode of the database file. An existing file keeps its mode (an operator may have
    chosen it), with a warning when other users can read it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning("%s can be read by other users of this machine (mode %o): it holds the "
                        "query log and reports; chmod 600 %s %s-wal %s-shm",
                        path, mode, path, path, path)
        return
    os.close(fd)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite and url != "sqlite://" and ":memory:" not in url:
            path = Path(url.split("///", 1)[1])
            if path.is_dir():
                raise StorageError(f"{path}: this is a folder; [server] storage names the "
                                   f"database file in it, e.g. {path / 'kidshield.db'}")
            path.parent.mkdir(parents=True, exist_ok=True)
            _private_file(path)
        # A failed statement's message goes to the log: without its values, which may be a
        # child's report, an e-mail address or a webhook URL with its token.
        try:
            self.engine: Engine = sa.create_engine(url, future=True, hide_parameters=True)
        except (ImportError, NoSuchModuleError) as exc:
            # postgresql:// without a driver named (SQLAlchemy then wants psycopg2) or with
            # one not installed: a traceback before
            raise StorageError(
                f"{sa.engine.make_url(url).render_as_string()}: no database driver for this URL "
                f"({exc}); install one and name it, e.g. pip install 'kidshield[postgresql]' "
                "and postgresql+psycopg://... (docs/storage.md)"
            ) from exc
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        elif self.engine.dialect.name == "postgresql":
            from kidshield.storage.schema import use_postgresql

            use_postgresql()

    @classmethod
    def open(cls, path_or_url: str | Path, *, migrate: bool = True) -> Database:
        db = cls(database_url(path_or_url))
        if migrate:
            db.migrate()
        return db

    @property
    def where(self) -> str:
        return self.url.split("///", 1)[1] if self.is_sqlite else self.engine.url.render_as_string()

    def migrate(self) -> None:
        """Bring the schema to the newest version; refuse clearly if the file is unusable.

        Several processes may start on one new database at once (two ``serve`` nodes, a
        ``lists update`` beside ``serve``): the migration runs in one transaction that holds
        the database's lock from its first statement, so one process migrates and the others
        wait, then find the schema current. PostgreSQL: an advisory lock held until the
        transaction ends. SQLite: ``BEGIN IMMEDIATE`` (the file's write lock), which also
        makes the migration's DDL one transaction (the driver would otherwise commit each
        statement by itself)."""
        from alembic import command
        from alembic.config import Config as AlembicConfig

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        if self.is_sqlite:
            self._check_sqlite_file()
        engine = self._migration_engine() if self.is_sqlite else self.engine
        try:
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                                 {"key": MIGRATION_LOCK})
                cfg.attributes["connection"] = conn
                self._refuse_newer_schema(conn, cfg)
                command.upgrade(cfg, "head")
        except StorageError:
            raise
        except OperationalError as exc:
            raise self._explain(exc) from exc
        except DatabaseError as exc:
            raise self._explain(exc) from exc
        finally:
            if engine is not self.engine:
                engine.dispose()

    def _refuse_newer_schema(self, conn: Connection, cfg: Any) -> None:
        """A database that a newer kidshield has migrated (after a downgrade, or a second
        server left on the old version) names revisions this code does not ship: say so
        and touch nothing, where alembic would stop with a traceback."""
        from alembic.script import ScriptDirectory

        if not sa.inspect(conn).has_table("alembic_version"):
            return
        stored = [row[0] for row in conn.exec_driver_sql("SELECT version_num FROM alembic_version")]
        script = ScriptDirectory.from_config(cfg)
        known = {rev.revision for rev in script.walk_revisions()}
        unknown = [rev for rev in stored if rev not in known]
        if unknown:
            raise StorageError(
                f"{self.where}: this database was upgraded by a newer kidshield (schema "
                f"{', '.join(unknown)}; this version knows up to {script.get_current_head()}). "
                "Install that newer kidshield again, or restore the backup made before the "
                "upgrade; the database was not changed."
            )

    def _migration_engine(self) -> Engine:
        """A separate SQLite engine whose transactions start with BEGIN IMMEDIATE and wait
        long for another process's migration (sqlalchemy's documented recipe: the driver's
        own transaction handling off, BEGIN issued on the "begin" event)."""
        engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)

        def connect(dbapi_conn: Any, record: Any) -> None:
            dbapi_conn.isolation_level = None
            _sqlite_pragmas(dbapi_conn, record, MIGRATION_WAIT_SECONDS * 1000)

        def begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        event.listen(engine, "connect", connect)
        event.listen(engine, "begin", begin)
        return engine

    def _check_sqlite_file(self) -> None:
        """Check an existing SQLite file read-only, before anything (the switch to WAL mode, a
        migration) writes to it: a damaged file is left exactly as it was."""
        if self.url == "sqlite://" or ":memory:" in self.url:
            return
        path = Path(self.where).resolve()
        if not path.is_file() or path.stat().st_size == 0:
            return
        try:
            con = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
            try:
                ok = con.execute("PRAGMA quick_check").fetchone()[0]
            finally:
                con.close()
        except sqlite3.DatabaseError as exc:
            raise self._explain(exc) from exc
        if ok != "ok":
            raise StorageError(
                f"{self.where}: the database is damaged ({ok}). Restore it from a "
                "backup or move it aside; kidshield will then start a new one."
            )

    def migrate_isolated(self) -> None:
        """Migrate in a short-lived child process, so a long-running server never carries
        alembic in its memory. Errors come back as the same clear StorageError."""
        code = (
            "import sys\n"
            "from kidshield.errors import StorageError\n"
            "from kidshield.storage.db import Database\n"
            "try:\n"
            "    Database(sys.argv[1]).migrate()\n"
            "except StorageError as exc:\n"
            "    print(exc)\n"
            "    sys.exit(3)\n"
        )
        # the message comes on stdout: stderr also carries what the child logged (the
        # warning about a file other users can read), which is not the reason it failed
        with subprocess.Popen([sys.executable, "-c", code, self.url], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) as proc:
            try:
                out, err = proc.communicate(timeout=LOCK_NOTICE_SECONDS)
            except subprocess.TimeoutExpired:
                # a lock held by another program makes the migration wait up to two
                # minutes: say so, rather than a start that seems to hang
                log.warning("%s: waiting for the database (up to %d s): another program holds "
                            "its lock, or another kidshield is migrating it",
                            self.where, MIGRATION_WAIT_SECONDS)
                out, err = proc.communicate()
        if proc.returncode == 3:
            raise StorageError(out.strip())
        if proc.returncode != 0:
            raise StorageError(f"{self.where}: migrating the database failed:\n"
                               f"{err.strip()[-2000:]}")

    def _explain(self, exc: Exception) -> StorageError:
        text = str(getattr(exc, "orig", exc))
        if "locked" in text:
            return StorageError(
                f"{self.where}: the database is locked by another program. Stop the other "
                "kidshield process (or the tool holding the file) and try again."
            )
        if "not a database" in text or "malformed" in text:
            return StorageError(
                f"{self.where}: this file is not a usable kidshield database ({text}). Restore "
                "it from a backup or move it aside; kidshield will then start a new one."
            )
        return StorageError(f"{self.where}: database error: {text}")

    @staticmethod
    def head_revision() -> str | None:
        """The newest migration shipped with this version of kidshield."""
        from alembic.config import Config as AlembicConfig
        from alembic.script import ScriptDirectory

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        return ScriptDirectory.from_config(cfg).get_current_head()

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            try:
                return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            except (OperationalError, sqlite3.OperationalError):
                return None

    @contextmanager
    def locked_write(self, key: int) -> Iterator[Connection]:
        """A transaction that holds the write lock from its first statement, for a write
        that depends on what it reads (the evidence chain links to the current head).

        A plain transaction reads before it locks: two processes could both read the same
        head and one insert would fail. SQLite: ``BEGIN IMMEDIATE`` takes the file's write
        lock at once, so another writer waits (busy timeout) instead. PostgreSQL: a
        transaction-level advisory lock on ``key``, released at commit or rollback."""
        with self.engine.begin() as conn:
            if self.is_sqlite:
                # the driver would open its own deferred transaction only at the first
                # INSERT; an explicit BEGIN first makes it use this one
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            elif conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
            yield conn

    def close(self) -> None:
        self.engine.dispose()
