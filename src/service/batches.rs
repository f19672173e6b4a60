//! Links just issued from the admin pages, held in this process's memory for a short while,
//! so that one issue gives both its CSV and its QR slips (tokens are stored only hashed, so
//! a link can never be read back from the database). A batch belongs to the account that
//! issued it and to one campaign; it is forgotten after [`BATCH_TTL`] seconds, and at most
//! [`MAX_BATCHES`] are held.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::domain::token;
use crate::service::invitation::Issued;

/// How long a batch can be downloaded after it was issued.
pub const BATCH_TTL: i64 = 60 * 60;
/// Batches held at once; the oldest goes first.
pub const MAX_BATCHES: usize = 64;

/// One issue of links.
#[derive(Debug)]
pub struct Batch {
    pub user_id: i64,
    pub campaign_id: i64,
    pub reissue: bool,
    pub issued_at: i64,
    pub links: Vec<Issued>,
}

#[derive(Debug, Default)]
pub struct Batches {
    held: Mutex<HashMap<String, Arc<Batch>>>,
}

impl Batches {
    /// Keeps a batch and returns its id (random, unguessable).
    pub fn put(&self, batch: Batch, now: i64) -> String {
        let id = token::random(16);
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.retain(|_, b| now - b.issued_at < BATCH_TTL);
        while held.len() >= MAX_BATCHES {
            let oldest = held
                .iter()
                .min_by_key(|(_, b)| b.issued_at)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => held.remove(&k),
                None => break,
            };
        }
        held.insert(id.clone(), Arc::new(batch));
        id
    }

    /// A batch of `campaign_id` that `user_id` issued, while it is held.
    pub fn get(&self, id: &str, user_id: i64, campaign_id: i64, now: i64) -> Option<Arc<Batch>> {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.get(id)
            .filter(|b| {
                b.user_id == user_id
                    && b.campaign_id == campaign_id
                    && now - b.issued_at < BATCH_TTL
            })
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(user_id: i64, issued_at: i64) -> Batch {
        Batch {
            user_id,
            campaign_id: 7,
            reissue: false,
            issued_at,
            links: Vec::new(),
        }
    }

    #[test]
    fn a_batch_is_only_its_issuers_and_only_for_a_while() {
        let b = Batches::default();
        let id = b.put(batch(1, 1000), 1000);
        assert!(b.get(&id, 1, 7, 1000 + BATCH_TTL - 1).is_some());
        assert!(b.get(&id, 2, 7, 1000).is_none(), "another account");
        assert!(b.get(&id, 1, 8, 1000).is_none(), "another campaign");
        assert!(b.get(&id, 1, 7, 1000 + BATCH_TTL).is_none(), "expired");
        assert!(b.get("nope", 1, 7, 1000).is_none());
    }

    #[test]
    fn holds_a_bounded_number_of_batches() {
        let b = Batches::default();
        let first = b.put(batch(1, 1), 1);
        for i in 0..MAX_BATCHES as i64 {
            b.put(batch(1, 2 + i), 2 + i);
        }
        assert!(b.get(&first, 1, 7, 100).is_none(), "the oldest went first");
        assert_eq!(
            b.held.lock().expect("lock").len(),
            MAX_BATCHES,
            "never more than the bound"
        );
    }
}
