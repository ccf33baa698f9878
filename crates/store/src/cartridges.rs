//! The cartridge registry (the seed's `cartridge_registry` table), with each cartridge's PNG
//! bytes kept once by their SHA-256 in `blobs`.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};
use crate::hash::Hash;
use crate::store::{Store, int_of, text_of};

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

fn entry_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<CartridgeEntry> {
    Ok(CartridgeEntry {
        id: row.get(0)?,
        path: text_of(row.get_ref(1)?).unwrap_or_default(),
        kind: text_of(row.get_ref(2)?).unwrap_or_default(),
        checksum: text_of(row.get_ref(3)?),
        width: int_of(row.get_ref(4)?),
        height: int_of(row.get_ref(5)?),
        created_at: text_of(row.get_ref(6)?),
        parent_id: int_of(row.get_ref(7)?),
        executed_count: int_of(row.get_ref(8)?).unwrap_or(0),
        has_png: row.get(9)?,
    })
}

impl Store {
    /// Every cartridge, by id.
    pub fn list_cartridges(&self) -> Result<Vec<CartridgeEntry>> {
        let mut statement =
            self.conn().prepare(&format!("SELECT {COLUMNS} FROM cartridge_registry c ORDER BY c.id"))?;
        let rows = statement.query_map([], entry_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A cartridge by its path (name), or by `sha256:HEX` / bare hex checksum.
    pub fn cartridge(&self, key: &str) -> Result<Option<CartridgeEntry>> {
        let by_path = self
            .conn()
            .query_row(&format!("SELECT {COLUMNS} FROM cartridge_registry c WHERE c.path = ?1"), [key], entry_from_row)
            .optional()?;
        if by_path.is_some() {
            return Ok(by_path);
        }
        match Hash::from_hex(key) {
            Ok(hash) => Ok(self
                .conn()
                .query_row(
                    &format!("SELECT {COLUMNS} FROM cartridge_registry c WHERE c.checksum = ?1 ORDER BY c.id LIMIT 1"),
                    [hash.to_hex()],
                    entry_from_row,
                )
                .optional()?),
            Err(_) => Ok(None),
        }
    }

    /// The PNG bytes of a cartridge (see [`Store::cartridge`] for `key`).
    pub fn cartridge_png(&self, key: &str) -> Result<Option<(CartridgeEntry, Vec<u8>)>> {
        let Some(entry) = self.cartridge(key)? else {
            return Ok(None);
        };
        let bytes: Option<Vec<u8>> = self
            .conn()
            .query_row(
                "SELECT b.bytes FROM cartridge_registry c JOIN blobs b ON b.id = c.blob_id WHERE c.id = ?1",
                [entry.id],
                |row| row.get(0),
            )
            .optional()?;
        Ok(bytes.map(|bytes| (entry, bytes)))
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
        let tx = self.conn_mut().transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let existing: Option<Option<String>> = tx
            .query_row("SELECT checksum FROM cartridge_registry WHERE path = ?1", [&path], |row| row.get(0))
            .optional()?;
        match existing {
            Some(Some(checksum)) if checksum == hash.to_hex() => {}
            Some(_) => {
                return Err(StoreError::Invalid(format!("the cartridge path '{path}' is registered with other bytes")));
            }
            None => {
                tx.execute(
                    "INSERT INTO blobs (hash, bytes) VALUES (?1, ?2) ON CONFLICT(hash) DO NOTHING",
                    params![&hash.0[..], new.png],
                )?;
                let blob_id: i64 =
                    tx.query_row("SELECT id FROM blobs WHERE hash = ?1", [&hash.0[..]], |row| row.get(0))?;
                tx.execute(
                    "INSERT INTO cartridge_registry (path, kind, checksum, width, height, created_at, parent_id, blob_id) \
                     VALUES (?1, 'pixel', ?2, ?3, ?4, datetime('now'), ?5, ?6)",
                    params![path, hash.to_hex(), new.width, new.height, new.parent_id, blob_id],
                )?;
            }
        }
        tx.commit()?;
        self.cartridge(&path)?.ok_or_else(|| StoreError::NotFound(format!("cartridge {path}")))
    }
}
