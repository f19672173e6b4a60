//! "The log grew": a signal that the sequencer bumps after each committed batch, and that a
//! shared poller also bumps when another instance appends, so watchers (the ceremony
//! screens) wake on any growth of the log.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::watch;

use crate::store::Store;

/// How often the shared task reads the log head while anyone is watching.
pub const POLL_EVERY: Duration = Duration::from_secs(2);

/// The size of the log as last seen by this process; only ever grows.
#[derive(Clone, Debug)]
pub struct LogSignal(Arc<watch::Sender<u64>>);

impl LogSignal {
    pub fn new(size: u64) -> LogSignal {
        LogSignal(Arc::new(watch::channel(size).0))
    }

    /// Records that the log holds at least `size` entries; wakes watchers only if it grew.
    pub fn grew_to(&self, size: u64) {
        self.0.send_if_modified(|known| {
            if size > *known {
                *known = size;
                true
            } else {
                false
            }
        });
    }

    pub fn size(&self) -> u64 {
        *self.0.borrow()
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }

    /// Starts the shared poller: while anyone is subscribed, reads the log head every
    /// `every`. It ends once every handle of this signal is gone.
    pub fn spawn_poller(&self, store: Arc<dyn Store>, every: Duration) {
        let weak: Weak<watch::Sender<u64>> = Arc::downgrade(&self.0);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(sender) = weak.upgrade() else {
                    return;
                };
                if sender.receiver_count() == 0 {
                    continue;
                }
                match store.log_head().await {
                    Ok(head) => LogSignal(sender).grew_to(head.size),
                    Err(e) => {
                        tracing::warn!(error = %e, "reading the log head for live counts failed")
                    }
                }
            }
        });
    }
}
