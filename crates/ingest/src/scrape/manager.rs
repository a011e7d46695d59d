//! The scrape manager: owns one pool per job, (re)starts and stops target loops when the
//! configuration is applied (hot reload, handing each surviving target's state to its new loop
//! so no spurious staleness is written), refreshes file-based discovery, and reports target
//! health.

use super::config::{GlobalConfig, ScrapeConfig, validate};
use super::discovery::{Discovered, FileSdCache, discover};
use super::scrape_loop::{self, LoopCtx, LoopState, Stop};
use super::status::{ActiveTarget, DroppedTarget, Health, TargetsStatus, rfc3339_millis};
use super::target::{Populated, Target, populate};
use crate::{IngestError, Limits, MetadataStore};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use vigia_model::{Appender, Labels, format_duration};

/// Dropped targets remembered per pool for the status page (the count stays exact).
const MAX_DROPPED_LISTED: usize = 1000;

struct LoopHandle {
    target: Target,
    health: Arc<Mutex<Health>>,
    stop: watch::Sender<Option<Stop>>,
    join: Option<JoinHandle<LoopState>>,
}

#[derive(Default)]
struct PoolState {
    loops: BTreeMap<u64, LoopHandle>,
    dropped: Vec<Labels>,
    dropped_count: usize,
    closed: bool,
}

struct Deps {
    appender: Arc<dyn Appender>,
    metadata: Arc<MetadataStore>,
    limits: Limits,
}

struct PoolShared {
    job: Arc<ScrapeConfig>,
    client: reqwest::Client,
    global: GlobalConfig,
    deps: Arc<Deps>,
    state: Mutex<PoolState>,
}

struct Pool {
    shared: Arc<PoolShared>,
    sd_stop: Option<watch::Sender<bool>>,
    sd_task: Option<JoinHandle<()>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Pool {
    /// Marks the pool closed, stops discovery and hands back its loops.
    fn close_take_loops(&mut self) -> BTreeMap<u64, LoopHandle> {
        if let Some(s) = self.sd_stop.take() {
            let _ = s.send(true);
        }
        let mut st = lock(&self.shared.state);
        st.closed = true;
        std::mem::take(&mut st.loops)
    }

    /// Stops every loop with `mode`; returns the tasks to await.
    fn close(mut self, mode: Stop) -> Vec<JoinHandle<LoopState>> {
        let loops = self.close_take_loops();
        let mut joins = Vec::new();
        for (_, mut h) in loops {
            let _ = h.stop.send(Some(mode));
            joins.extend(h.join.take());
        }
        if let Some(t) = self.sd_task.take() {
            t.abort();
        }
        joins
    }
}

fn start_loop(
    shared: &PoolShared,
    target: Target,
    health: Arc<Mutex<Health>>,
    predecessor: Option<JoinHandle<LoopState>>,
    rt: &Handle,
) -> LoopHandle {
    let (tx, rx) = watch::channel(None);
    let ctx = Arc::new(LoopCtx {
        job: shared.job.clone(),
        accept: super::config::accept_header(shared.job.scrape_protocols.as_deref()),
        http: shared.job.http_client(),
        target: target.clone(),
        client: shared.client.clone(),
        appender: shared.deps.appender.clone(),
        metadata: shared.deps.metadata.clone(),
        health: health.clone(),
        limits: shared.deps.limits.clone(),
    });
    let join = rt.spawn(scrape_loop::run(ctx, rx, predecessor));
    LoopHandle {
        target,
        health,
        stop: tx,
        join: Some(join),
    }
}

/// Brings the pool's loops in line with the discovered targets. Loops for unchanged targets
/// keep running; loops found in `inherit` (from the previous configuration of this job) hand
/// their state to the new loop; loops of vanished targets stop with staleness markers.
fn sync(
    shared: &PoolShared,
    discovered: Discovered,
    inherit: &mut BTreeMap<u64, LoopHandle>,
    rt: &Handle,
) {
    let mut st = lock(&shared.state);
    if st.closed {
        return;
    }
    let mut old = std::mem::take(&mut st.loops);
    let mut next = BTreeMap::new();
    let mut dropped = Vec::new();
    let mut dropped_count = 0usize;
    for (extra, group) in &discovered.groups {
        for addr in &group.targets {
            match populate(&shared.job, &shared.global, addr, &group.labels, extra) {
                Populated::Dropped(l) => {
                    dropped_count += 1;
                    let cap = match shared.job.keep_dropped_targets {
                        0 => MAX_DROPPED_LISTED,
                        n => n.min(MAX_DROPPED_LISTED),
                    };
                    if dropped.len() < cap {
                        dropped.push(l);
                    }
                }
                Populated::Active(t) => {
                    let key = t.key();
                    if next.contains_key(&key) {
                        continue;
                    }
                    let handle = if let Some(h) = old.remove(&key) {
                        h
                    } else if let Some(mut h) = inherit.remove(&key) {
                        let _ = h.stop.send(Some(Stop::Handover));
                        start_loop(shared, t, h.health.clone(), h.join.take(), rt)
                    } else {
                        start_loop(shared, t, Arc::new(Mutex::new(Health::default())), None, rt)
                    };
                    next.insert(key, handle);
                }
            }
        }
    }
    for (_, h) in old {
        let _ = h.stop.send(Some(Stop::Stale));
    }
    st.loops = next;
    st.dropped = dropped;
    st.dropped_count = dropped_count;
}

async fn sd_loop(shared: Arc<PoolShared>, mut cache: FileSdCache, mut stop: watch::Receiver<bool>) {
    let refresh = shared
        .job
        .file_sd_configs
        .iter()
        .map(|c| c.refresh_interval.to_std())
        .min()
        .unwrap_or(Duration::from_secs(300))
        .max(Duration::from_millis(10));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(refresh) => {}
            r = stop.changed() => if r.is_err() { return },
        }
        if *stop.borrow() {
            return;
        }
        let cfgs = shared.job.file_sd_configs.clone();
        cache = match tokio::task::spawn_blocking(move || {
            cache.refresh(&cfgs);
            cache
        })
        .await
        {
            Ok(c) => c,
            Err(_) => return,
        };
        let d = discover(&shared.job, &cache);
        sync(&shared, d, &mut BTreeMap::new(), &Handle::current());
    }
}

/// Builds an HTTP client with the pool's redirect policy, proxy and TLS settings.
fn build_client(cfg: &ScrapeConfig) -> Result<reqwest::Client, IngestError> {
    vigia_httpclient::build_client(&cfg.http_client(), None)
        .map_err(|e| IngestError::Config(format!("job {:?}: {e}", cfg.job_name)))
}

struct Inner {
    appender: Arc<dyn Appender>,
    metadata: Arc<MetadataStore>,
    limits: Limits,
    default_client: Mutex<Option<reqwest::Client>>,
    pools: Mutex<BTreeMap<String, Pool>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let pools = std::mem::take(&mut *lock(&self.pools));
        for (_, p) in pools {
            drop(p.close(Stop::Silent));
        }
    }
}

/// Runs the scrape pools of the current configuration.
pub struct ScrapeManager {
    inner: Arc<Inner>,
}

impl ScrapeManager {
    /// A manager with no pools; samples go to `appender`, scraped metadata to `metadata`.
    ///
    /// As in Prometheus, scrapes have no decoding limits by default: a scrape is bounded by its
    /// body size limit and the per-job `sample_limit` / `label_limit` /
    /// `label_*_length_limit` settings. Use [`ScrapeManager::with_limits`] for global caps.
    pub fn new(appender: Arc<dyn Appender>, metadata: Arc<MetadataStore>) -> Self {
        let unlimited = Limits {
            max_series_per_request: usize::MAX,
            max_samples_per_request: usize::MAX,
            max_label_count: usize::MAX,
            max_label_name_len: usize::MAX,
            max_label_value_len: usize::MAX,
        };
        Self::with_limits(appender, metadata, unlimited)
    }

    /// Like [`ScrapeManager::new`] with custom per-scrape decoding limits.
    pub fn with_limits(
        appender: Arc<dyn Appender>,
        metadata: Arc<MetadataStore>,
        limits: Limits,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                appender,
                metadata,
                limits,
                default_client: Mutex::new(None),
                pools: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// The HTTP client for a pool: a shared one for plain configurations, a dedicated one
    /// when the pool has TLS settings or does not follow redirects.
    fn client_for(&self, cfg: &ScrapeConfig) -> Result<reqwest::Client, IngestError> {
        let plain = cfg.tls_config.is_none() && cfg.follow_redirects;
        if plain && let Some(c) = lock(&self.inner.default_client).as_ref() {
            return Ok(c.clone());
        }
        let c = build_client(cfg)?;
        if plain {
            *lock(&self.inner.default_client) = Some(c.clone());
        }
        Ok(c)
    }

    /// Applies a configuration: validates it, starts pools and targets that are new, replaces
    /// those whose configuration changed and stops (with staleness markers) those that are
    /// gone. Must be called from within a tokio runtime. On error nothing changes.
    pub fn apply(
        &self,
        global: &GlobalConfig,
        configs: &[ScrapeConfig],
    ) -> Result<(), IngestError> {
        validate(global, configs)?;
        let rt = Handle::try_current().map_err(|_| {
            IngestError::Scrape("ScrapeManager::apply must run inside a tokio runtime".into())
        })?;
        // Build every client first so that a bad TLS file changes nothing.
        let clients = configs
            .iter()
            .map(|c| self.client_for(c))
            .collect::<Result<Vec<_>, _>>()?;
        let deps = Arc::new(Deps {
            appender: self.inner.appender.clone(),
            metadata: self.inner.metadata.clone(),
            limits: self.inner.limits.clone(),
        });
        let mut pools = lock(&self.inner.pools);
        let mut old_pools = std::mem::take(&mut *pools);
        for (cfg, client) in configs.iter().zip(clients) {
            let name = cfg.job_name.clone();
            if let Some(p) = old_pools.remove(&name) {
                let same = *p.shared.job == *cfg
                    && cfg.interval(&p.shared.global) == cfg.interval(global)
                    && cfg.timeout(&p.shared.global) == cfg.timeout(global);
                if same {
                    pools.insert(name, p);
                    continue;
                }
                old_pools.insert(name.clone(), p);
            }
            let mut inherit = match old_pools.remove(&name) {
                Some(mut p) => {
                    if let Some(t) = p.sd_task.take() {
                        t.abort();
                    }
                    p.close_take_loops()
                }
                None => BTreeMap::new(),
            };
            let shared = Arc::new(PoolShared {
                job: Arc::new(cfg.clone()),
                client,
                global: global.clone(),
                deps: deps.clone(),
                state: Mutex::new(PoolState::default()),
            });
            let mut cache = FileSdCache::default();
            cache.refresh(&cfg.file_sd_configs);
            sync(&shared, discover(cfg, &cache), &mut inherit, &rt);
            for (_, h) in inherit {
                let _ = h.stop.send(Some(Stop::Stale));
            }
            let (sd_stop, sd_task) = if cfg.file_sd_configs.is_empty() {
                (None, None)
            } else {
                let (tx, rx) = watch::channel(false);
                (Some(tx), Some(rt.spawn(sd_loop(shared.clone(), cache, rx))))
            };
            pools.insert(
                name,
                Pool {
                    shared,
                    sd_stop,
                    sd_task,
                },
            );
        }
        for (_, p) in old_pools {
            drop(p.close(Stop::Stale));
        }
        Ok(())
    }

    /// Target health of every pool, in the shape of Prometheus's `/api/v1/targets` data.
    pub fn targets(&self) -> TargetsStatus {
        let pools = lock(&self.inner.pools);
        let mut out = TargetsStatus::default();
        for (name, p) in pools.iter() {
            let st = lock(&p.shared.state);
            let mut active: Vec<ActiveTarget> = st
                .loops
                .values()
                .map(|h| {
                    let health = lock(&h.health).clone();
                    ActiveTarget {
                        discovered_labels: h.target.discovered.clone(),
                        labels: h.target.labels.clone(),
                        scrape_pool: name.clone(),
                        scrape_url: h.target.url.clone(),
                        global_url: h.target.url.clone(),
                        last_error: health.last_error.clone(),
                        last_scrape: match health.last_scrape_ms {
                            Some(ms) => rfc3339_millis(ms),
                            None => "0001-01-01T00:00:00Z".into(),
                        },
                        last_scrape_duration: health.last_duration_s,
                        health: health.health_str().into(),
                        scrape_interval: format_duration(h.target.interval_ms),
                        scrape_timeout: format_duration(h.target.timeout_ms),
                    }
                })
                .collect();
            active.sort_by(|a, b| {
                a.scrape_url
                    .cmp(&b.scrape_url)
                    .then_with(|| a.labels.cmp(&b.labels))
            });
            out.active_targets.extend(active);
            out.dropped_targets
                .extend(st.dropped.iter().map(|l| DroppedTarget {
                    discovered_labels: l.clone(),
                    scrape_pool: name.clone(),
                }));
            out.dropped_target_counts
                .insert(name.clone(), st.dropped_count);
        }
        out
    }

    /// Stops every loop without writing staleness markers (the process is going down) and waits
    /// for them to finish. A later [`ScrapeManager::apply`] starts afresh.
    pub async fn shutdown(&self) {
        let pools = std::mem::take(&mut *lock(&self.inner.pools));
        let mut joins = Vec::new();
        for (_, p) in pools {
            joins.extend(p.close(Stop::Silent));
        }
        for j in joins {
            let _ = j.await;
        }
    }
}
