//! Live counts for the ceremony screen (`/acara/{id}`, SPEC 4). A "log grew" signal wakes
//! every viewer: the sequencer bumps it after each committed batch, and one shared task
//! reads the log head every two seconds while anyone watches, so pledges that another
//! instance appends (and annulments) arrive too. The counts of a campaign are computed once
//! per change and shared: a hall of projectors and phones costs one query per change, not
//! one per viewer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use tokio::sync::watch;

use crate::domain::compliance::{
    Compliance, PublicGroup, PublicLine, UnitCompliance, public_groups, public_tree,
};
use crate::service::ServiceResult;
use crate::service::compliance;
use crate::service::sequencer::LogSignal;
use crate::store::{CampaignRow, Store};

/// What the ceremony screen shows: counts only, never names or NIPs (SPEC 6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScreenCounts {
    pub signed: u64,
    pub target: u64,
    /// Top-level units, each rolled up over its subtree, that have target staff, in tree
    /// order; the small ones pooled into one last line ([`OTHERS_ID`]).
    pub units: Vec<ScreenUnit>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScreenUnit {
    pub id: i64,
    /// On the page; the event stream carries ids only, the page already has the names.
    #[serde(skip)]
    pub name: String,
    pub signed: u64,
    pub target: u64,
}

/// The id of the pooled "other units" line; unit ids start at 1.
pub const OTHERS_ID: i64 = 0;

impl ScreenCounts {
    /// Top-level units, each rolled up over its subtree; units too small to show alone
    /// (`domain::compliance::public_groups`) are pooled into one last line.
    pub fn from_report(report: &Compliance) -> ScreenCounts {
        let top: Vec<&UnitCompliance> = report
            .units
            .iter()
            .filter(|u| u.parent_id.is_none())
            .collect();
        ScreenCounts {
            signed: report.total_signed,
            target: report.total_target,
            units: public_groups(&top)
                .into_iter()
                .map(|g| match g {
                    PublicGroup::Unit(u) => ScreenUnit {
                        id: u.id,
                        name: u.name.clone(),
                        signed: u.signed,
                        target: u.target,
                    },
                    PublicGroup::Others {
                        units,
                        target,
                        signed,
                    } => ScreenUnit {
                        id: OTHERS_ID,
                        name: format!("Unit lainnya ({units} unit)"),
                        signed,
                        target,
                    },
                })
                .collect(),
        }
    }
}

struct Cached {
    log_size: u64,
    counts: Arc<ScreenCounts>,
    tree: Arc<PublicTree>,
}

/// What `/transparansi/{id}` shows: totals and the public unit tree (counts only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicTree {
    pub signed: u64,
    pub target: u64,
    pub lines: Vec<PublicLine>,
}

type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

/// The counts of each watched campaign, computed at most once per log size.
#[derive(Default)]
pub struct ScreenCache {
    slots: Mutex<HashMap<i64, Slot>>,
}

impl ScreenCache {
    /// The counts of `campaign` as of a log of at least `log_size` entries.
    pub async fn counts(
        &self,
        store: &dyn Store,
        campaign: &CampaignRow,
        log_size: u64,
    ) -> ServiceResult<Arc<ScreenCounts>> {
        Ok(self.both(store, campaign, log_size).await?.0)
    }

    /// The public unit tree of `campaign` as of a log of at least `log_size` entries.
    pub async fn tree(
        &self,
        store: &dyn Store,
        campaign: &CampaignRow,
        log_size: u64,
    ) -> ServiceResult<Arc<PublicTree>> {
        Ok(self.both(store, campaign, log_size).await?.1)
    }

    async fn both(
        &self,
        store: &dyn Store,
        campaign: &CampaignRow,
        log_size: u64,
    ) -> ServiceResult<(Arc<ScreenCounts>, Arc<PublicTree>)> {
        let slot = self
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(campaign.id)
            .or_default()
            .clone();
        // Viewers woken by the same change queue here: the first computes, the rest reuse.
        let mut cached = slot.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| c.log_size >= log_size) {
            return Ok((c.counts.clone(), c.tree.clone()));
        }
        let report = compliance::report(store, campaign).await?;
        let counts = Arc::new(ScreenCounts::from_report(&report));
        let tree = Arc::new(PublicTree {
            signed: report.total_signed,
            target: report.total_target,
            lines: public_tree(&report),
        });
        *cached = Some(Cached {
            log_size,
            counts: counts.clone(),
            tree: tree.clone(),
        });
        Ok((counts, tree))
    }
}

/// What the ceremony screens of this process share.
pub struct Live {
    pub log: LogSignal,
    pub screens: ScreenCache,
    closing: watch::Sender<bool>,
}

impl Live {
    pub fn new(log_size: u64) -> Live {
        Live {
            log: LogSignal::new(log_size),
            screens: ScreenCache::default(),
            closing: watch::channel(false).0,
        }
    }

    /// Ends every open event stream, so a graceful shutdown does not wait on projectors.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }
}

/// Resolves once `closing` turns true (never, if its sender is gone without closing).
pub async fn closed(closing: &mut watch::Receiver<bool>) {
    loop {
        if *closing.borrow_and_update() {
            return;
        }
        if closing.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn signal_wakes_watchers_only_when_the_log_grows() {
        let signal = LogSignal::new(5);
        let mut rx = signal.subscribe();
        signal.grew_to(3);
        signal.grew_to(5);
        assert!(!rx.has_changed().expect("sender alive"));
        signal.grew_to(7);
        assert!(rx.has_changed().expect("sender alive"));
        assert_eq!(*rx.borrow_and_update(), 7);
        assert_eq!(signal.size(), 7);
    }

    #[tokio::test]
    async fn closing_ends_waiters() {
        let live = Live::new(0);
        let mut rx = live.closing();
        let waiter = tokio::spawn(async move { closed(&mut rx).await });
        live.close();
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the waiter ended")
            .expect("no panic");
    }

    #[test]
    fn screen_counts_keep_top_level_units_with_targets_and_pool_small_ones() {
        let unit = |id, parent_id, target, signed| UnitCompliance {
            id,
            name: format!("Unit {id}"),
            parent_id,
            target,
            signed,
        };
        let report = Compliance {
            campaign_id: 1,
            campaign_title: "Uji".into(),
            template: "ikrar-netralitas-2024@1".into(),
            total_target: 22,
            total_signed: 10,
            units: vec![
                unit(1, None, 10, 4),
                unit(2, Some(1), 6, 2),
                unit(3, None, 0, 0),
                unit(4, None, 2, 1),
                unit(5, None, 1, 1),
                unit(6, None, 9, 4),
                unit(7, Some(6), 1, 1),
            ],
        };
        let counts = ScreenCounts::from_report(&report);
        assert_eq!((counts.signed, counts.target), (10, 22));
        let lines: Vec<(i64, u64, u64)> = counts
            .units
            .iter()
            .map(|u| (u.id, u.signed, u.target))
            .collect();
        // Units 4 and 5 (3 staff together) are too small alone, and so is their pool:
        // unit 6, the smallest shown, joins it. Child units are not lines of their own.
        assert_eq!(lines, vec![(1, 4, 10), (OTHERS_ID, 6, 12)]);
        assert_eq!(counts.units[1].name, "Unit lainnya (3 unit)");
        let json = serde_json::to_value(&counts).expect("serializes");
        assert!(json["units"][0].get("name").is_none(), "ids only: {json}");
    }
}
