//! The keyring: one active master key that seals, plus previous ones that still open.
//!
//! Master key rotation: deploy the new key as active and the old one as previous; ciphertext
//! sealed under the old key keeps opening (its envelope names the old key's id), and rewrap
//! moves it to the new key. Once nothing references the old key, drop it from the keyring.

use std::sync::Arc;

use crate::master_key::{MasterKey, MasterKeyId};

/// Active plus previous master keys, looked up by [`MasterKeyId`].
#[derive(Debug, Clone)]
pub struct Keyring {
    active: Arc<MasterKey>,
    previous: Vec<Arc<MasterKey>>,
}

impl Keyring {
    /// A keyring with only an active key.
    pub fn new(active: MasterKey) -> Self {
        Self {
            active: Arc::new(active),
            previous: Vec::new(),
        }
    }

    /// Adds a previous key (ignored if its id is already present).
    pub fn with_previous(mut self, previous: MasterKey) -> Self {
        if self.get(previous.id()).is_none() {
            self.previous.push(Arc::new(previous));
        }
        self
    }

    /// The key that seals new ciphertext.
    pub fn active(&self) -> &MasterKey {
        &self.active
    }

    /// Finds a key by id, active first.
    pub fn get(&self, id: MasterKeyId) -> Option<&MasterKey> {
        std::iter::once(&self.active)
            .chain(self.previous.iter())
            .find(|key| key.id() == id)
            .map(|key| key.as_ref())
    }

    /// Ids of every key in the ring, active first.
    pub fn ids(&self) -> Vec<MasterKeyId> {
        std::iter::once(&self.active)
            .chain(self.previous.iter())
            .map(|key| key.id())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_active_and_previous_keys_by_id() {
        let old = MasterKey::from_bytes([1; 32]);
        let new = MasterKey::from_bytes([2; 32]);
        let (old_id, new_id) = (old.id(), new.id());
        let ring = Keyring::new(new)
            .with_previous(old.clone())
            .with_previous(old);
        assert_eq!(ring.active().id(), new_id);
        assert_eq!(ring.get(old_id).map(MasterKey::id), Some(old_id));
        assert_eq!(ring.ids(), vec![new_id, old_id]);
        assert!(ring.get(MasterKey::from_bytes([3; 32]).id()).is_none());
    }
}
