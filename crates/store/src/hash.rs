//! SHA-256 content addresses: programs, texts, images and cartridges are named by them.

use sha2::{Digest, Sha256};

use crate::error::StoreError;

/// A SHA-256 digest; shown and serialized as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Hash {
        Hash(Sha256::digest(bytes).into())
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        let mut out = String::with_capacity(64);
        for byte in self.0 {
            out.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
            out.push(char::from(b"0123456789abcdef"[usize::from(byte & 15)]));
        }
        out
    }

    /// Parses 64 hex digits, with or without a `sha256:` prefix.
    pub fn from_hex(text: &str) -> Result<Hash, StoreError> {
        let hex = text.trim().strip_prefix("sha256:").unwrap_or(text.trim());
        let bad = || StoreError::Invalid(format!("'{text}' is not a SHA-256 hash (64 hex digits)"));
        if hex.len() != 64 {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (index, pair) in hex.as_bytes().chunks(2).enumerate() {
            let digit = |c: u8| (c as char).to_digit(16);
            match (digit(pair[0]), digit(pair[1])) {
                (Some(high), Some(low)) => out[index] = (high * 16 + low) as u8,
                _ => return Err(bad()),
            }
        }
        Ok(Hash(out))
    }

    /// Builds a hash from a stored blob (32 bytes).
    pub(crate) fn from_slice(bytes: &[u8]) -> Option<Hash> {
        <[u8; 32]>::try_from(bytes).ok().map(Hash)
    }
}

/// The content address of a rendered canvas: SHA-256 over a version tag, the width and height
/// (little-endian `u32`) and the RGBA bytes, row by row.
///
/// Two runs drew the same pixels exactly when their image hashes are equal; `gvpie replay`
/// relies on it.
pub fn image_hash(width: u32, height: u32, rgba: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(b"gvpie-image-v1");
    hasher.update(width.to_le_bytes());
    hasher.update(height.to_le_bytes());
    hasher.update(rgba);
    Hash(hasher.finalize().into())
}

impl std::fmt::Display for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl std::str::FromStr for Hash {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Hash, StoreError> {
        Hash::from_hex(text)
    }
}

impl serde::Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Hash, D::Error> {
        let text = String::deserialize(deserializer)?;
        Hash::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let hash = Hash::of(b"abc");
        assert_eq!(hash.to_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(Hash::from_hex(&hash.to_hex()).ok(), Some(hash));
        assert_eq!(Hash::from_hex(&format!("sha256:{hash}")).ok(), Some(hash));
        assert!(Hash::from_hex("xyz").is_err());
        assert!(Hash::from_hex(&"g".repeat(64)).is_err());
    }
}
