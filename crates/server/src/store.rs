//! [`StorePool`]: the server's handles on the database, used from blocking threads.
//!
//! A `gvpie_store::Store` is one connection and is not `Sync`, so the pool keeps a few and
//! lends one to each request for the duration of a closure on a blocking thread (SQLite in WAL
//! mode lets these readers run beside the daemon's writer). Store errors become [`AppError`]s
//! here: a missing row is 404, a bad argument 422, a busy, read-only or full database 503 with a
//! message that says which, anything else a 500 whose detail is only logged. The store's schema and queries live in `gvpie-store`.

use std::sync::{Arc, Mutex};

use gvpie_store::{Location, Store, StoreError, StoreOptions};
use tokio::sync::Semaphore;

use crate::error::AppError;

/// Connections a pool opens at most.
const MAX_CONNECTIONS: usize = 4;

/// A small pool of store connections; cheap to clone.
#[derive(Clone)]
pub struct StorePool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    location: Location,
    options: StoreOptions,
    idle: Mutex<Vec<Store>>,
    slots: Arc<Semaphore>,
}

impl Drop for PoolInner {
    fn drop(&mut self) {
        let idle = std::mem::take(self.idle.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner()));
        if idle.is_empty() || tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        // The last handle often goes on an async worker (the server's state at shutdown), where a
        // PostgreSQL connection, which closes through a runtime of its own, must not be dropped: a
        // plain thread closes them.
        let closing = std::thread::Builder::new().name("gvpie-store-close".to_string()).spawn(move || drop(idle));
        if let Ok(thread) = closing {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for StorePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorePool").field("location", &self.inner.location).finish_non_exhaustive()
    }
}

impl StorePool {
    /// Opens the database named by a `--db` argument (creating and migrating it if needed).
    pub fn open(db: &str) -> Result<StorePool, Box<StoreError>> {
        let location = Location::parse(db)?;
        let options = StoreOptions::default();
        let first = Store::open_location(&location, &options)?;
        Ok(StorePool {
            inner: Arc::new(PoolInner {
                location,
                options,
                idle: Mutex::new(vec![first]),
                slots: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
            }),
        })
    }

    /// True when the database cannot be written (its file or folder is read-only): reads work,
    /// writes answer 503. `gvpie serve` warns at start.
    pub fn is_read_only(&self) -> bool {
        let idle = self.inner.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        idle.first().is_some_and(Store::is_read_only)
    }

    /// Runs `work` with a connection on a blocking thread.
    pub(crate) async fn run<R, F>(&self, work: F) -> Result<R, AppError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Store) -> Result<R, AppError> + Send + 'static,
    {
        let permit = self.inner.slots.clone().acquire_owned().await.map_err(AppError::internal)?;
        let inner = self.inner.clone();
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let taken = inner.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop();
            let mut store = match taken {
                Some(store) => store,
                None => Store::open_location(&inner.location, &inner.options).map_err(store_error)?,
            };
            let result = work(&mut store);
            inner.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(store);
            result
        });
        task.await.map_err(AppError::internal)?
    }
}

/// A store error as an answer.
pub(crate) fn store_error(err: StoreError) -> AppError {
    match err {
        StoreError::NotFound(what) => AppError::NotFound(format!("{what} not found")),
        StoreError::Invalid(message) => AppError::InvalidRequest(message),
        StoreError::Database(message) if message.contains("locked") || message.contains("busy") => {
            AppError::Unavailable { message: "the database is busy; retry shortly".to_string(), retry_after: 1 }
        }
        StoreError::ReadOnly(_) => AppError::Unavailable {
            message: "the database is read-only: this server can read but not write it; make the database file \
                and its folder writable by the server"
                .to_string(),
            retry_after: 60,
        },
        StoreError::Full(_) => AppError::Unavailable {
            message: "the database cannot grow: its disk is full; free some space".to_string(),
            retry_after: 60,
        },
        other => AppError::internal(other),
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> AppError {
        store_error(err)
    }
}
