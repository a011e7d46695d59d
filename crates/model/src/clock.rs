//! Time sources: every component that decides by the wall clock (rule evaluation, alert
//! routing, escalation, schedules) reads an injected [`Clock`], so tests move time by hand.

use std::sync::atomic::{AtomicI64, Ordering};

/// A source of the current time, injectable so tests control it.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The system wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock showing `t_ms`.
    pub fn new(t_ms: i64) -> Self {
        Self(AtomicI64::new(t_ms))
    }
    /// Sets the time.
    pub fn set(&self, t_ms: i64) {
        self.0.store(t_ms, Ordering::SeqCst);
    }
    /// Moves the time forward.
    pub fn advance(&self, d_ms: i64) {
        self.0.fetch_add(d_ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}
