//! The cartridge registry (the seed's `cartridge_registry` table), with each cartridge's PNG
//! bytes kept once by their SHA-256 in `blobs`.

use serde::{Deserialize, Serialize};

use crate::db::{Db, Row};
use crate::error::{Result, StoreError};
use crate::hash::Hash;
use crate::params;
use crate::store::Store;

/// A registered cartridge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CartridgeEntry {
    /// Row id.
    pub id: i64,
    /// Unique name (`sha256:HEX` when registered without one).
    pub path: String,
    /// `pixel`, `code`, `dataset` or `prompt` (the seed's kinds).
    pub kind: String,
    /// SHA-256 (hex) of the PNG bytes.
    pub checksum: Option<String>,
    /// Image width.
    pub width: Option<i64>,
    /// Image height.
    pub height: Option<i64>,
    /// When registered.
    pub created_at: Option<String>,
    /// The cartridge it derives from.
    pub parent_id: Option<i64>,
    /// Times the daemon ran it.
    pub executed_count: i64,
    /// Whether its PNG bytes are stored.
    pub has_png: bool,
}

/// A cartridge to register.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewCartridge<'a> {
    /// A unique name; `None` registers it as `sha256:HEX`.
    pub path: Option<&'a str>,
    /// The PNG bytes.
    pub png: &'a [u8],
    /// Image width, if known.
    pub width: Option<u32>,
    /// Image height, if known.
    pub height: Option<u32>,
    /// The cartridge it derives from.
    pub parent_id: Option<i64>,
}

const COLUMNS: &str = "c.id, c.path, c.kind, c.checksum, c.width, c.height, c.created_at, c.parent_id, \
     c.executed_count, c.blob_id IS NOT NULL";

fn entry_from_row(row: &Row) -> Result<CartridgeEntry> {
    Ok(CartridgeEntry {
        id: row.get(0)?,
        path: row.text(1).unwrap_or_default(),
        kind: row.text(2).unwrap_or_default(),
        checksum: row.text(3),
        width: row.int(4),
        height: row.int(5),
        created_at: row.text(6),
        parent_id: row.int(7),
        executed_count: row.int(8).unwrap_or(0),
        has_png: row.get(9)?,
    })
}

/// The id of the blob with these bytes, stored if new.
pub(crate) fn blob_id(tx: &Db, hash: &Hash, bytes: &[u8]) -> Result<i64> {
    Ok(crate::record::id_by_hash(
        tx,
        "blobs",
        hash,
        "INSERT INTO blobs (hash, bytes) VALUES (?1, ?2) ON CONFLICT(hash) DO NOTHING RETURNING id",
        params![&hash.0[..], bytes],
    )?
    .0)
}

impl Store {
    /// Every cartridge, by id.
    pub fn list_cartridges(&self) -> Result<Vec<CartridgeEntry>> {
        let sql = format!("SELECT {COLUMNS} FROM cartridge_registry c ORDER BY c.id");
        self.db.query_all(&sql, params![])?.iter().map(entry_from_row).collect()
    }

    /// A cartridge by its path (name), or by `sha256:HEX` / bare hex checksum.
    pub fn cartridge(&self, key: &str) -> Result<Option<CartridgeEntry>> {
        let sql = format!("SELECT {COLUMNS} FROM cartridge_registry c WHERE c.path = ?1");
        if let Some(row) = self.db.query_opt(&sql, params![key])? {
            return Ok(Some(entry_from_row(&row)?));
        }
        match Hash::from_hex(key) {
            Ok(hash) => {
                let sql =
                    format!("SELECT {COLUMNS} FROM cartridge_registry c WHERE c.checksum = ?1 ORDER BY c.id LIMIT 1");
                self.db.query_opt(&sql, params![hash.to_hex()])?.map(|row| entry_from_row(&row)).transpose()
            }
            Err(_) => Ok(None),
        }
    }

    /// The PNG bytes of a cartridge (see [`Store::cartridge`] for `key`).
    pub fn cartridge_png(&self, key: &str) -> Result<Option<(CartridgeEntry, Vec<u8>)>> {
        let Some(entry) = self.cartridge(key)? else {
            return Ok(None);
        };
        let row = self.db.query_opt(
            "SELECT b.bytes FROM cartridge_registry c JOIN blobs b ON b.id = c.blob_id WHERE c.id = ?1",
            params![entry.id],
        )?;
        match row {
            Some(row) => Ok(Some((entry, row.get(0)?))),
            None => Ok(None),
        }
    }

    /// Registers a cartridge's PNG (content-addressed: the same bytes are stored once).
    /// Registering the same bytes under the same path again returns the existing entry;
    /// a path already used by other bytes is an error.
    pub fn put_cartridge(&mut self, new: &NewCartridge<'_>) -> Result<CartridgeEntry> {
        if new.png.is_empty() {
            return Err(StoreError::Invalid("a cartridge needs PNG bytes".to_string()));
        }
        let hash = Hash::of(new.png);
        let path = match new.path {
            Some(path) if path.trim().is_empty() => {
                return Err(StoreError::Invalid("a cartridge path cannot be empty".to_string()));
            }
            Some(path) => path.to_string(),
            None => format!("sha256:{hash}"),
        };
        self.db.transaction(|tx| -> Result<()> {
            // Two registrations of one path at once must not both see it free.
            tx.lock(&format!("cartridge {path}"))?;
            let existing = tx.query_opt("SELECT checksum FROM cartridge_registry WHERE path = ?1", params![&path])?;
            match existing.map(|row| row.text(0)) {
                Some(Some(checksum)) if checksum == hash.to_hex() => Ok(()),
                Some(_) => {
                    Err(StoreError::Invalid(format!("the cartridge path '{path}' is registered with other bytes")))
                }
                None => {
                    let blob_id = blob_id(tx, &hash, new.png)?;
                    tx.execute(
                        "INSERT INTO cartridge_registry (path, kind, checksum, width, height, created_at, parent_id, \
                         blob_id) VALUES (?1, 'pixel', ?2, ?3, ?4, datetime('now'), ?5, ?6)",
                        params![&path, hash.to_hex(), new.width, new.height, new.parent_id, blob_id],
                    )?;
                    Ok(())
                }
            }
        })?;
        self.cartridge(&path)?.ok_or_else(|| StoreError::NotFound(format!("cartridge {path}")))
    }
}
