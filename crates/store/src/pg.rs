//! Opening a PostgreSQL store: parse the URL, connect (creating the database when it does not
//! exist), set the session up, refuse a database that is not gvpie's, migrate.
//!
//! The connection is plain TCP or a Unix socket without TLS (`NoTls`): point the URL at a
//! server on a trusted network (the same host, a private network or a tunnel). Every error
//! names the location with its password replaced by `***`.

use std::str::FromStr;
use std::time::Duration;

use crate::db::{Db, describe_postgres};
use crate::error::{Result, StoreError};
use crate::store::{Durability, StoreOptions, redact_url};

/// How long connecting may take when the URL does not say (`connect_timeout=`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a connection may sit idle before TCP probes whether its peer is still there.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);

/// How long a session may sit idle inside a transaction before the server ends it (and releases
/// its locks). The store never waits inside a transaction on anything but the database, so only a
/// hung or cut-off client reaches it.
const IDLE_IN_TRANSACTION_MS: u64 = 60_000;

/// The URL as a client configuration; a clear [`StoreError::Open`] when it is not one.
pub(crate) fn config_of(url: &str) -> Result<postgres::Config> {
    let mut config =
        postgres::Config::from_str(url).map_err(|e| open_error(url, format!("not a valid PostgreSQL URL ({e})")))?;
    if config.get_dbname().is_none() {
        return Err(open_error(url, "the URL names no database (postgres://USER@HOST:PORT/DATABASE)".to_string()));
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    // A host that dies without closing its socket would keep its session, and the row locks of a
    // claim it was taking, for the kernel's default two hours; probe the peer after 30 s idle.
    if !url.contains("keepalives_idle") {
        config.keepalives_idle(KEEPALIVE_IDLE);
    }
    if config.get_application_name().is_none() {
        config.application_name("gvpie");
    }
    Ok(config)
}

fn open_error(url: &str, message: String) -> StoreError {
    StoreError::Open { location: redact_url(url), message }
}

/// Connects to the database `url` names, creating it if it does not exist, and migrates it.
pub(crate) fn open(url: &str, options: &StoreOptions) -> Result<Db> {
    let config = config_of(url)?;
    let dbname = config.get_dbname().unwrap_or_default().to_string();
    let client = match config.connect(postgres::NoTls) {
        Ok(client) => client,
        Err(err) if err.code() == Some(&postgres::error::SqlState::INVALID_CATALOG_NAME) => {
            create_database(url, &config, &dbname)?;
            config.connect(postgres::NoTls).map_err(|e| open_error(url, describe_postgres(&e)))?
        }
        Err(err) => return Err(open_error(url, describe_postgres(&err))),
    };
    let lock_ms = options.busy_timeout.as_millis().max(1);
    let synchronous = match options.durability {
        Durability::Full => "on",
        Durability::Normal => "off",
    };
    // UTC, so anything the server formats as time matches the SQLite side; lock_timeout is the
    // busy timeout's twin (a statement waiting on another writer's lock gives up).
    let session = format!(
        "SET TIME ZONE 'UTC'; SET lock_timeout = {lock_ms}; SET synchronous_commit = {synchronous}; \
         SET client_min_messages = warning; SET idle_in_transaction_session_timeout = {IDLE_IN_TRANSACTION_MS};"
    );
    let db = Db::postgres(client, config, session).map_err(|e| open_error(url, e.message))?;
    refuse_foreign(&db, url, &dbname)?;
    crate::schema::migrate(&db).map_err(|err| match err {
        StoreError::Database(message) => open_error(url, message),
        other => other,
    })?;
    Ok(db)
}

/// `CREATE DATABASE`, through the `postgres` maintenance database (a database cannot be
/// created from a connection to itself, which does not exist yet).
fn create_database(url: &str, config: &postgres::Config, dbname: &str) -> Result<()> {
    let mut admin_config = config.clone();
    admin_config.dbname("postgres");
    let mut admin = admin_config.connect(postgres::NoTls).map_err(|e| {
        open_error(
            url,
            format!("the database {dbname} does not exist and cannot be created: {}", describe_postgres(&e)),
        )
    })?;
    let quoted = format!("\"{}\"", dbname.replace('"', "\"\""));
    // UTF-8 with byte-order collation: text sorts and compares as in SQLite, whatever the server's
    // default locale (template0, the only template that may change them).
    let create = format!("CREATE DATABASE {quoted} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'");
    match admin.batch_execute(&create) {
        Ok(()) => Ok(()),
        // Another process created it between our two connections: just as good. (Two creations
        // racing can also meet in pg_database's unique index.)
        Err(err)
            if err.code() == Some(&postgres::error::SqlState::DUPLICATE_DATABASE)
                || err.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) =>
        {
            Ok(())
        }
        Err(err) => Err(open_error(
            url,
            format!("the database {dbname} does not exist and cannot be created: {}", describe_postgres(&err)),
        )),
    }
}

/// A database with tables of its own but no `schema_version` is someone else's: never touch it.
fn refuse_foreign(db: &Db, url: &str, dbname: &str) -> Result<()> {
    let row = db.query_row(
        "SELECT to_regclass('public.schema_version') IS NOT NULL, \
         (SELECT COUNT(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm', 'p', 'f'))",
        crate::params![],
    )?;
    let (has_version, relations): (bool, i64) = (row.get(0)?, row.get(1)?);
    if !has_version && relations > 0 {
        return Err(open_error(
            url,
            format!(
                "the database {dbname} holds {relations} tables or views but no schema_version table: it is not a \
                 gvpie database, and gvpie leaves it alone. Name an empty or new database in the URL"
            ),
        ));
    }
    Ok(())
}
