//! Parsed policy versions, cached by id. A stored version never changes, so an entry
//! never goes stale; there are few versions, so the cache is never trimmed.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use vulndesk_core::policy::Policy;
use vulndesk_store::{PolicyVersion, Store};

use crate::DeskError;

/// A stored policy version, parsed.
#[derive(Debug)]
pub struct PinnedPolicy {
    /// Row id of the version (what cases pin).
    pub id: i64,
    /// The organisation's version number (1, 2, ...).
    pub version: i64,
    /// The parsed policy.
    pub policy: Policy,
}

#[derive(Default)]
pub(crate) struct PolicyCache {
    parsed: RwLock<HashMap<i64, Arc<PinnedPolicy>>>,
}

impl PolicyCache {
    /// The version with row id `id`, read from `store` on first use.
    pub(crate) async fn get(&self, store: &Store, id: i64) -> Result<Arc<PinnedPolicy>, DeskError> {
        if let Some(hit) = self.lookup(id) {
            return Ok(hit);
        }
        let row = store.policy_version(id).await?;
        self.parse(&row)
    }

    /// `row`, parsed (or taken from the cache when already parsed).
    pub(crate) fn parse(&self, row: &PolicyVersion) -> Result<Arc<PinnedPolicy>, DeskError> {
        if let Some(hit) = self.lookup(row.id) {
            return Ok(hit);
        }
        let label = format!("policy version {} (id {})", row.version, row.id);
        // The loader only stores sources that parse; failing here means the core's policy
        // format changed under stored data.
        let policy = Policy::parse(&label, &row.source)
            .map_err(|e| DeskError::Internal(format!("stored {label} does not parse: {e}")))?;
        let pinned = Arc::new(PinnedPolicy {
            id: row.id,
            version: row.version,
            policy,
        });
        let mut map = self.parsed.write().unwrap_or_else(PoisonError::into_inner);
        Ok(Arc::clone(map.entry(row.id).or_insert(pinned)))
    }

    fn lookup(&self, id: i64) -> Option<Arc<PinnedPolicy>> {
        let map = self.parsed.read().unwrap_or_else(PoisonError::into_inner);
        map.get(&id).cloned()
    }
}
