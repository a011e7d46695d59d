//! The in-app dashboard feed: a bounded in-memory list of recent notifications and a
//! `tokio::sync::broadcast` channel for live updates (server-sent events, websockets).

use crate::message::Notification;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// One feed entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedEntry {
    /// Increasing sequence number (per process).
    pub seq: u64,
    /// When the notification was handed to delivery (RFC 3339).
    pub at: String,
    /// The notification.
    pub notification: Notification,
}

struct FeedInner {
    cap: usize,
    next: u64,
    list: VecDeque<FeedEntry>,
}

/// The dashboard feed. Cloning shares the same feed.
#[derive(Clone)]
pub struct Feed {
    inner: Arc<Mutex<FeedInner>>,
    tx: broadcast::Sender<FeedEntry>,
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed").field("len", &self.len()).finish()
    }
}

impl Feed {
    /// A feed keeping the last `capacity` notifications (at least 1).
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(256);
        Feed {
            inner: Arc::new(Mutex::new(FeedInner {
                cap: capacity.max(1),
                next: 1,
                list: VecDeque::new(),
            })),
            tx,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FeedInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends a notification (dropping the oldest beyond capacity) and broadcasts it.
    pub fn push(&self, n: Notification) -> FeedEntry {
        let entry = {
            let mut g = self.lock();
            let e = FeedEntry {
                seq: g.next,
                at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                notification: n,
            };
            g.next += 1;
            g.list.push_back(e.clone());
            while g.list.len() > g.cap {
                g.list.pop_front();
            }
            e
        };
        // No subscriber is fine.
        let _ = self.tx.send(entry.clone());
        entry
    }

    /// The newest `limit` entries, newest first.
    pub fn recent(&self, limit: usize) -> Vec<FeedEntry> {
        self.lock().list.iter().rev().take(limit).cloned().collect()
    }

    /// Entries with `seq > after`, oldest first (for polling clients).
    pub fn since(&self, after: u64) -> Vec<FeedEntry> {
        self.lock()
            .list
            .iter()
            .filter(|e| e.seq > after)
            .cloned()
            .collect()
    }

    /// Number of entries held.
    pub fn len(&self) -> usize {
        self.lock().list.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Live updates from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<FeedEntry> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::tests::notification;

    #[tokio::test]
    async fn bounded_and_broadcast() {
        let f = Feed::new(2);
        let mut rx = f.subscribe();
        for r in ["a", "b", "c"] {
            f.push(notification(r, 1));
        }
        let recent = f.recent(10);
        assert_eq!(recent.len(), 2);
        assert_eq!(recent[0].notification.receiver, "c");
        assert_eq!(recent[1].notification.receiver, "b");
        assert_eq!(f.since(2).len(), 1);
        assert_eq!(rx.recv().await.unwrap().notification.receiver, "a");
        assert_eq!(rx.recv().await.unwrap().seq, 2);
    }
}
