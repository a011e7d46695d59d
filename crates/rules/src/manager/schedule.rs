//! Scheduling: each group's evaluation slots (Prometheus-style, offset by a hash of the
//! group), and the background thread per group that evaluates at those slots, counting missed
//! iterations.

use super::state::Shared;
use super::{RuleManager, lock};
use crate::config::Group;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use vigia_model::Labels;

impl RuleManager {
    /// Prometheus's evaluation slot of a group: the latest `t <= now` with
    /// `t ≡ hash(file, name) (mod interval)`, which spreads groups over the interval.
    pub fn eval_timestamp(group: &Group, now_ms: i64) -> i64 {
        let interval = group.interval_ms.max(1);
        let h = Labels::from_pairs([
            ("name", group.name.clone()),
            ("file", group.file.display().to_string()),
        ])
        .stable_hash();
        let offset = (h % interval as u64) as i64;
        let base = now_ms - now_ms.rem_euclid(interval);
        let mut next = base + offset;
        if next > now_ms {
            next -= interval;
        }
        next
    }

    /// Starts one background thread per registered group. Each evaluates its group at its
    /// interval slots (see [`RuleManager::eval_timestamp`]) as the clock reaches them, counting
    /// slots skipped because the previous evaluation overran as missed iterations.
    pub fn start(self: &Arc<Self>) {
        let mut running = lock(&self.running);
        if !running.is_empty() {
            return;
        }
        for shared in self.groups_read() {
            let stop = Arc::new(AtomicBool::new(false));
            let me = Arc::clone(self);
            let stop2 = stop.clone();
            // The first slot is fixed now, so the clock moving during thread start-up is seen.
            let first = {
                let st = lock(&shared);
                Self::eval_timestamp(&st.group, self.clock.now_ms()) + st.group.interval_ms.max(1)
            };
            let h = std::thread::Builder::new()
                .name("vigia-rules".into())
                .spawn(move || me.group_loop(shared, stop2, first));
            match h {
                Ok(h) => running.push((stop, h)),
                Err(e) => tracing::error!(error = %e, "cannot start a rule group thread"),
            }
        }
    }

    /// Stops the background threads and waits for them.
    pub fn stop(&self) {
        let threads = std::mem::take(&mut *lock(&self.running));
        for (stop, _) in &threads {
            stop.store(true, Ordering::SeqCst);
        }
        for (_, h) in threads {
            let _ = h.join();
        }
    }

    fn group_loop(&self, shared: Shared, stop: Arc<AtomicBool>, first: i64) {
        let interval = lock(&shared).group.interval_ms.max(1);
        let mut next = first;
        while !stop.load(Ordering::SeqCst) {
            let now = self.clock.now_ms();
            if now < next {
                let wait = (next - now).clamp(1, 200) as u64;
                std::thread::sleep(Duration::from_millis(wait));
                continue;
            }
            let missed = (now - next) / interval;
            if missed > 0 {
                next += missed * interval;
            }
            let mut st = lock(&shared);
            st.stats.iterations_missed_total += missed as u64;
            let (send, _errors) = self.eval_locked(&mut st, next);
            drop(st);
            self.send(send);
            next += interval;
        }
    }
}

impl Drop for RuleManager {
    fn drop(&mut self) {
        for (stop, _) in lock(&self.running).iter() {
            stop.store(true, Ordering::SeqCst);
        }
    }
}
