//! The durable outbox: every notification becomes one item per integration of its receiver,
//! written to an append-only log and fsynced before `enqueue` returns. One tokio task per
//! (receiver, integration) delivers its items in order, retrying with exponential backoff and
//! jitter, under the receiver's token-bucket rate limit, and logs each item as done (fsynced)
//! once delivered or given up. Reopening the directory redelivers what was not done:
//! at-least-once across crashes, exactly once without one.
//!
//! Log format (`outbox.log`, one JSON object per line): `{"t":"s",...}` sequence header,
//! `{"t":"e","item":{..}}` enqueued item, `{"t":"d","id":N}` item done. A torn last line (crash
//! mid-write) is ignored. The log is compacted (rewritten with only pending items, via a
//! temporary file and rename) on open and when done records dominate.
//!
//! Threading: the workers run on the tokio runtime whose [`Handle`] is given to
//! [`Outbox::open`]; `enqueue` does blocking file I/O (one `fdatasync`) on the caller's thread.

use crate::config::{GlobalConfig, NotifySettings, ReceiverConfig, validate_all};
use crate::error::OutboxError;
use crate::feed::Feed;
use crate::integrations::{Integration, receiver_integrations};
use crate::message::Notification;
use crate::templates::Templates;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};
use tokio::runtime::Handle;
use tokio::sync::{Notify, watch};
use vigia_model::MetricFamily;

const LOG_FILE: &str = "outbox.log";
const TMP_FILE: &str = "outbox.log.tmp";
const LOCK_FILE: &str = "outbox.lock";

/// The outcome of one delivery attempt, passed to the `on_result` callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryReport {
    /// The notification's id (returned by [`Outbox::enqueue`]).
    pub notification_id: u64,
    /// Receiver name.
    pub receiver: String,
    /// Integration id, e.g. `slack[0]`.
    pub integration: String,
    /// The notification's group key.
    pub group_key: String,
    /// Fingerprints of the notification's alerts.
    pub fingerprints: Vec<String>,
    /// Attempt number (1 for the first).
    pub attempt: u32,
    /// Delivered.
    pub ok: bool,
    /// Why the attempt failed.
    pub error: Option<String>,
    /// No further attempt will be made (delivered, permanent failure or given up).
    pub done: bool,
}

/// Callback receiving every [`DeliveryReport`] (called from the worker tasks; keep it quick).
pub type ResultCallback = Arc<dyn Fn(DeliveryReport) + Send + Sync>;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Item {
    id: u64,
    nid: u64,
    receiver: String,
    integration: String,
    enqueued_ms: i64,
    notification: Notification,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "t")]
enum Record {
    #[serde(rename = "s")]
    Seq { next_id: u64, next_nid: u64 },
    #[serde(rename = "e")]
    Enq { item: Box<Item> },
    #[serde(rename = "d")]
    Done { id: u64 },
}

struct Log {
    file: File,
    dir: PathBuf,
    done_since_compact: u64,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> OutboxError + '_ {
    move |source| OutboxError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl Log {
    fn path(&self) -> PathBuf {
        self.dir.join(LOG_FILE)
    }

    fn append(&mut self, recs: &[Record]) -> Result<(), OutboxError> {
        let mut buf = Vec::new();
        for r in recs {
            serde_json::to_writer(&mut buf, r).map_err(OutboxError::Encode)?;
            buf.push(b'\n');
        }
        let path = self.path();
        self.file.write_all(&buf).map_err(io_err(&path))?;
        self.file.sync_data().map_err(io_err(&path))
    }

    /// Rewrites the log with only `pending` items.
    fn compact<'a>(
        &mut self,
        next_id: u64,
        next_nid: u64,
        pending: impl Iterator<Item = &'a Item>,
    ) -> Result<(), OutboxError> {
        let tmp = self.dir.join(TMP_FILE);
        let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
        let mut buf = Vec::new();
        let seq = Record::Seq { next_id, next_nid };
        serde_json::to_writer(&mut buf, &seq).map_err(OutboxError::Encode)?;
        buf.push(b'\n');
        for it in pending {
            let r = Record::Enq {
                item: Box::new(it.clone()),
            };
            serde_json::to_writer(&mut buf, &r).map_err(OutboxError::Encode)?;
            buf.push(b'\n');
        }
        f.write_all(&buf).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
        drop(f);
        let path = self.path();
        std::fs::rename(&tmp, &path).map_err(io_err(&path))?;
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        self.file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io_err(&path))?;
        self.done_since_compact = 0;
        Ok(())
    }
}

/// Reads the log: pending items in id order and the next ids.
fn replay(path: &Path) -> Result<(Vec<Item>, u64, u64), OutboxError> {
    let mut pending: BTreeMap<u64, Item> = BTreeMap::new();
    let (mut next_id, mut next_nid) = (1u64, 1u64);
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 1, 1)),
        Err(e) => return Err(io_err(path)(e)),
    };
    for (lineno, line) in BufReader::new(f).split(b'\n').enumerate() {
        let line = line.map_err(io_err(path))?;
        if line.is_empty() {
            continue;
        }
        match serde_json::from_slice::<Record>(&line) {
            Ok(Record::Seq {
                next_id: a,
                next_nid: b,
            }) => {
                next_id = next_id.max(a);
                next_nid = next_nid.max(b);
            }
            Ok(Record::Enq { item }) => {
                next_id = next_id.max(item.id + 1);
                next_nid = next_nid.max(item.nid + 1);
                pending.insert(item.id, *item);
            }
            Ok(Record::Done { id }) => {
                pending.remove(&id);
            }
            Err(e) => {
                // A torn tail after a crash; anything else is reported and skipped.
                tracing::warn!(line = lineno + 1, error = %e, "outbox: skipping unreadable record");
            }
        }
    }
    Ok((pending.into_values().collect(), next_id, next_nid))
}

struct Bucket {
    cap: f64,
    tokens: f64,
    per_sec: f64,
    last: Instant,
}

impl Bucket {
    fn take(&mut self) -> Result<(), Duration> {
        let now = Instant::now();
        let dt = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + dt * self.per_sec).min(self.cap);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                ((1.0 - self.tokens) / self.per_sec).max(0.001),
            ))
        }
    }
}

struct Config {
    receivers: HashMap<String, Vec<Arc<Integration>>>,
    settings: NotifySettings,
    templates: Arc<Templates>,
}

impl Config {
    fn build(
        receivers: &[ReceiverConfig],
        global: &GlobalConfig,
        settings: &NotifySettings,
        templates: Arc<Templates>,
    ) -> Result<Config, OutboxError> {
        let errs = validate_all(global, receivers, settings);
        if !errs.is_empty() {
            return Err(OutboxError::Config(errs));
        }
        for r in receivers {
            for w in r.warnings() {
                tracing::warn!("{w}");
            }
        }
        Ok(Config {
            receivers: receivers
                .iter()
                .map(|r| (r.name.clone(), receiver_integrations(r, global, settings)))
                .collect(),
            settings: settings.clone(),
            templates,
        })
    }

    fn find(&self, receiver: &str, id: &str) -> Option<Arc<Integration>> {
        self.receivers
            .get(receiver)?
            .iter()
            .find(|i| i.id == id)
            .cloned()
    }
}

#[derive(Default)]
struct Counters {
    total: u64,
    failed: u64,
    dropped: u64,
}

struct Queue {
    items: Mutex<VecDeque<Item>>,
    wake: Notify,
}

struct Inner {
    dir: PathBuf,
    handle: Handle,
    on_result: ResultCallback,
    config: RwLock<Arc<Config>>,
    log: Mutex<Log>,
    queues: Mutex<HashMap<(String, String), Arc<Queue>>>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    buckets: Mutex<HashMap<String, Arc<Mutex<Bucket>>>>,
    metrics: Mutex<BTreeMap<(String, String), Counters>>,
    closed: AtomicBool,
    shutdown: watch::Sender<bool>,
    feed: Feed,
    next_id: AtomicU64,
    next_nid: AtomicU64,
    /// Exclusive lock on `outbox.lock` while open (released by shutdown or drop).
    dir_lock: Mutex<Option<File>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The durable outbox. Dropping it (or [`Outbox::shutdown`]) stops the workers; undelivered
/// items stay on disk for the next [`Outbox::open`].
pub struct Outbox {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("dir", &self.inner.dir)
            .field("pending", &self.pending())
            .finish()
    }
}

fn build_buckets(settings: &NotifySettings) -> HashMap<String, Arc<Mutex<Bucket>>> {
    settings
        .rate_limits
        .iter()
        .filter(|r| r.per_minute > 0)
        .map(|r| {
            let cap = f64::from(r.burst.unwrap_or(r.per_minute).max(1));
            (
                r.receiver.clone(),
                Arc::new(Mutex::new(Bucket {
                    cap,
                    tokens: cap,
                    per_sec: f64::from(r.per_minute) / 60.0,
                    last: Instant::now(),
                })),
            )
        })
        .collect()
}

impl Outbox {
    /// Opens (or creates) the outbox in `dir`, validates the configuration, and starts
    /// delivering what a previous run left undelivered. Workers run on `handle`.
    pub fn open(
        dir: impl AsRef<Path>,
        settings: NotifySettings,
        receivers: Vec<ReceiverConfig>,
        global: GlobalConfig,
        on_result: ResultCallback,
        handle: Handle,
    ) -> Result<Outbox, OutboxError> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock_file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(&lock_path))?;
        if lock_file.try_lock().is_err() {
            return Err(OutboxError::Locked(dir.display().to_string()));
        }
        let config = Config::build(&receivers, &global, &settings, Arc::new(Templates::new()))?;
        let path = dir.join(LOG_FILE);
        let (pending, next_id, next_nid) = replay(&path)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io_err(&path))?;
        let mut log = Log {
            file,
            dir: dir.clone(),
            done_since_compact: 0,
        };
        log.compact(next_id, next_nid, pending.iter())?;
        let (shutdown, _) = watch::channel(false);
        let inner = Arc::new(Inner {
            dir,
            handle,
            on_result,
            buckets: Mutex::new(build_buckets(&settings)),
            config: RwLock::new(Arc::new(config)),
            log: Mutex::new(log),
            queues: Mutex::new(HashMap::new()),
            tasks: Mutex::new(Vec::new()),
            metrics: Mutex::new(BTreeMap::new()),
            closed: AtomicBool::new(false),
            shutdown,
            feed: Feed::new(500),
            next_id: AtomicU64::new(next_id),
            next_nid: AtomicU64::new(next_nid),
            dir_lock: Mutex::new(Some(lock_file)),
        });
        if !pending.is_empty() {
            tracing::info!(
                count = pending.len(),
                "outbox: redelivering pending notifications"
            );
        }
        for it in pending {
            inner.push(it);
        }
        Ok(Outbox { inner })
    }

    /// Persists one item per integration of `n.receiver` (fsynced) and schedules delivery;
    /// also publishes `n` to the dashboard [`feed`](Self::feed). Integrations that would not
    /// send it (resolved without `send_resolved`) get no item. An empty `external_url` is
    /// filled from `notify.external_url`. Returns the notification id used in
    /// [`DeliveryReport`]s.
    pub fn enqueue(&self, mut n: Notification) -> Result<u64, OutboxError> {
        let inner = &self.inner;
        if inner.closed.load(Ordering::SeqCst) {
            return Err(OutboxError::Closed);
        }
        let cfg = inner.cfg();
        if n.external_url.is_empty()
            && let Some(u) = &cfg.settings.external_url
        {
            n.external_url = u.clone();
        }
        let Some(integs) = cfg.receivers.get(&n.receiver) else {
            return Err(OutboxError::UnknownReceiver(n.receiver.clone()));
        };
        inner.feed.push(n.clone());
        let nid = inner.next_nid.fetch_add(1, Ordering::SeqCst);
        let enq = now_ms();
        let mut log = lock(&inner.log);
        let items: Vec<Item> = integs
            .iter()
            .filter(|i| i.prepare(&n).is_some())
            .map(|i| Item {
                id: inner.next_id.fetch_add(1, Ordering::SeqCst),
                nid,
                receiver: n.receiver.clone(),
                integration: i.id.clone(),
                enqueued_ms: enq,
                notification: n.clone(),
            })
            .collect();
        if items.is_empty() {
            return Ok(nid);
        }
        let recs: Vec<Record> = items
            .iter()
            .map(|it| Record::Enq {
                item: Box::new(it.clone()),
            })
            .collect();
        log.append(&recs)?;
        for it in items {
            inner.push(it);
        }
        Ok(nid)
    }

    /// Replaces the configuration (validated first: on error the previous one stays). Items of
    /// integrations that no longer exist are reported as failed and dropped.
    pub fn reload(
        &self,
        receivers: Vec<ReceiverConfig>,
        global: GlobalConfig,
        settings: NotifySettings,
    ) -> Result<(), OutboxError> {
        let templates = self.inner.cfg().templates.clone();
        let cfg = Config::build(&receivers, &global, &settings, templates)?;
        *lock(&self.inner.buckets) = build_buckets(&settings);
        *self.inner.config.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(cfg);
        for q in lock(&self.inner.queues).values() {
            q.wake.notify_one();
        }
        Ok(())
    }

    /// Sets the custom templates used from now on.
    pub fn set_templates(&self, templates: Templates) {
        let mut g = self.inner.config.write().unwrap_or_else(|p| p.into_inner());
        let c = Config {
            receivers: g.receivers.clone(),
            settings: g.settings.clone(),
            templates: Arc::new(templates),
        };
        *g = Arc::new(c);
    }

    /// Items not yet delivered (or given up).
    pub fn pending(&self) -> usize {
        lock(&self.inner.queues)
            .values()
            .map(|q| lock(&q.items).len())
            .sum()
    }

    /// The dashboard feed every enqueued notification is published to.
    pub fn feed(&self) -> Feed {
        self.inner.feed.clone()
    }

    /// Self-metrics: delivery attempts, failures and give-ups per receiver and integration, and
    /// the queue lengths.
    pub fn metric_families(&self) -> Vec<MetricFamily> {
        let m = lock(&self.inner.metrics);
        let family = |name: &str, help: &str, f: &dyn Fn(&Counters) -> u64| {
            let mut fam = MetricFamily::counter(name, help);
            for ((r, i), c) in m.iter() {
                fam.push(&[("receiver", r), ("integration", i)], f(c) as f64);
            }
            fam
        };
        let mut out = vec![
            family(
                "vigia_notifications_total",
                "Notification delivery attempts.",
                &|c| c.total,
            ),
            family(
                "vigia_notifications_failed_total",
                "Failed notification delivery attempts.",
                &|c| c.failed,
            ),
            family(
                "vigia_notifications_dropped_total",
                "Notifications given up on (permanent error, too old or too many attempts).",
                &|c| c.dropped,
            ),
        ];
        drop(m);
        let mut lens: BTreeMap<(String, String), usize> = BTreeMap::new();
        for ((r, i), q) in lock(&self.inner.queues).iter() {
            let kind = i.split('[').next().unwrap_or(i).to_string();
            *lens.entry((r.clone(), kind)).or_default() += lock(&q.items).len();
        }
        let mut queue = MetricFamily::gauge(
            "vigia_notification_queue_length",
            "Notifications waiting for delivery.",
        );
        for ((r, i), n) in lens {
            queue.push(&[("receiver", &r), ("integration", &i)], n as f64);
        }
        out.push(queue);
        out
    }

    /// Stops the workers and waits for them (an attempt in flight finishes and is recorded).
    pub async fn shutdown(&self) {
        self.inner.close();
        let tasks: Vec<_> = lock(&self.inner.tasks).drain(..).collect();
        for t in tasks {
            let _ = t.await;
        }
        // Nothing writes the log any more: another process may open the directory.
        if let Some(f) = lock(&self.inner.dir_lock).take() {
            let _ = f.unlock();
        }
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        self.inner.close();
    }
}

enum Outcome {
    Delivered,
    Failed(String),
}

impl Inner {
    fn cfg(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.shutdown.send_replace(true);
    }

    fn push(self: &Arc<Self>, it: Item) {
        let key = (it.receiver.clone(), it.integration.clone());
        let mut qs = lock(&self.queues);
        let q = match qs.get(&key) {
            Some(q) => q.clone(),
            None => {
                let q = Arc::new(Queue {
                    items: Mutex::new(VecDeque::new()),
                    wake: Notify::new(),
                });
                qs.insert(key, q.clone());
                let task = self.handle.spawn(worker(self.clone(), q.clone()));
                lock(&self.tasks).push(task);
                q
            }
        };
        lock(&q.items).push_back(it);
        q.wake.notify_one();
    }

    fn count(&self, it: &Item, f: impl FnOnce(&mut Counters)) {
        let kind = it
            .integration
            .split('[')
            .next()
            .unwrap_or(&it.integration)
            .to_string();
        f(lock(&self.metrics)
            .entry((it.receiver.clone(), kind))
            .or_default());
    }

    fn report(&self, it: &Item, attempt: u32, ok: bool, error: Option<String>, done: bool) {
        (self.on_result)(DeliveryReport {
            notification_id: it.nid,
            receiver: it.receiver.clone(),
            integration: it.integration.clone(),
            group_key: it.notification.group_key.clone(),
            fingerprints: it
                .notification
                .alerts
                .iter()
                .map(|a| a.fingerprint.clone())
                .collect(),
            attempt,
            ok,
            error,
            done,
        });
    }

    /// Marks the head item of `q` done durably and removes it.
    fn finish(&self, q: &Queue, it: &Item, attempt: u32, outcome: Outcome) {
        {
            let mut log = lock(&self.log);
            if let Err(e) = log.append(&[Record::Done { id: it.id }]) {
                tracing::error!(error = %e, "outbox: recording a delivery failed; it may be repeated after a restart");
            }
            {
                let mut items = lock(&q.items);
                if items.front().is_some_and(|h| h.id == it.id) {
                    items.pop_front();
                }
            }
            log.done_since_compact += 1;
            if log.done_since_compact >= 1000 {
                let qs = lock(&self.queues);
                let guards: Vec<_> = qs.values().map(|q| lock(&q.items)).collect();
                let pending = guards.iter().flat_map(|g| g.iter());
                let n_pending: usize = guards.iter().map(|g| g.len()).sum();
                if log.done_since_compact as usize > 2 * n_pending
                    && let Err(e) = log.compact(
                        self.next_id.load(Ordering::SeqCst),
                        self.next_nid.load(Ordering::SeqCst),
                        pending,
                    )
                {
                    tracing::error!(error = %e, "outbox: compaction failed");
                }
            }
        }
        match outcome {
            Outcome::Delivered => self.report(it, attempt, true, None, true),
            Outcome::Failed(e) => {
                self.count(it, |c| c.dropped += 1);
                tracing::warn!(
                    receiver = it.receiver,
                    integration = it.integration,
                    error = e,
                    "notification dropped"
                );
                self.report(it, attempt, false, Some(e), true);
            }
        }
    }

    fn bucket(&self, receiver: &str) -> Option<Arc<Mutex<Bucket>>> {
        lock(&self.buckets).get(receiver).cloned()
    }
}

fn backoff(settings: &NotifySettings, attempt: u32) -> Duration {
    let init = settings.retry.initial_backoff().as_secs_f64();
    let max = settings.retry.max_backoff().as_secs_f64();
    let exp = init * 2f64.powi(attempt.saturating_sub(1).min(30) as i32);
    let jitter: f64 = rand::random_range(0.8..1.2);
    Duration::from_secs_f64((exp.min(max) * jitter).max(0.001))
}

async fn worker(inner: Arc<Inner>, q: Arc<Queue>) {
    let mut stop = inner.shutdown.subscribe();
    let mut current: Option<u64> = None;
    let mut attempt: u32 = 0;
    loop {
        if inner.closed.load(Ordering::SeqCst) {
            return;
        }
        let head = lock(&q.items).front().cloned();
        let Some(it) = head else {
            tokio::select! {
                _ = q.wake.notified() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            continue;
        };
        if current != Some(it.id) {
            current = Some(it.id);
            attempt = 0;
        }
        let cfg = inner.cfg();
        let Some(integ) = cfg.find(&it.receiver, &it.integration) else {
            inner.finish(
                &q,
                &it,
                attempt,
                Outcome::Failed("integration no longer configured".into()),
            );
            continue;
        };
        if let Some(b) = inner.bucket(&it.receiver) {
            let wait = lock(&b).take();
            if let Err(d) = wait {
                // A reload (new limits) wakes the worker early.
                tokio::select! {
                    _ = tokio::time::sleep(d) => {}
                    _ = q.wake.notified() => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                continue;
            }
        }
        if inner.closed.load(Ordering::SeqCst) {
            return;
        }
        attempt += 1;
        let res = match integ.prepare(&it.notification) {
            None => Ok(()),
            Some(n) => {
                integ
                    .notify(&n, &cfg.templates, cfg.settings.retry.timeout())
                    .await
            }
        };
        inner.count(&it, |c| c.total += 1);
        match res {
            Ok(()) => inner.finish(&q, &it, attempt, Outcome::Delivered),
            Err(e) => {
                inner.count(&it, |c| c.failed += 1);
                let age = Duration::from_millis((now_ms() - it.enqueued_ms).max(0) as u64);
                let retry = &cfg.settings.retry;
                if !e.retryable {
                    inner.finish(&q, &it, attempt, Outcome::Failed(e.message));
                } else if retry.max_attempts.is_some_and(|m| attempt >= m) {
                    inner.finish(
                        &q,
                        &it,
                        attempt,
                        Outcome::Failed(format!("gave up after {attempt} attempts: {e}")),
                    );
                } else if age >= retry.max_age() {
                    inner.finish(
                        &q,
                        &it,
                        attempt,
                        Outcome::Failed(format!("gave up after {age:?}: {e}")),
                    );
                } else {
                    tracing::debug!(receiver = it.receiver, integration = it.integration, attempt, error = %e, "delivery failed, retrying");
                    inner.report(&it, attempt, false, Some(e.message.clone()), false);
                    let d = backoff(&cfg.settings, attempt);
                    tokio::select! {
                        _ = tokio::time::sleep(d) => {}
                        _ = stop.wait_for(|s| *s) => return,
                    }
                }
            }
        }
    }
}
