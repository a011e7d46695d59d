//! One target's scrape loop: waits for its offset in the interval, then fetches, parses,
//! attaches target labels (with `honor_labels` conflict handling), applies
//! `metric_relabel_configs` and the sample / label limits, writes staleness markers for series
//! that disappeared, appends through the [`Appender`] on a blocking thread and reports the
//! synthetic `up` / `scrape_*` series.

use super::status::Health;
use super::target::Target;
use crate::scrape::config::ScrapeConfig;
use crate::{Limits, MetadataStore, relabel, textformat};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use vigia_model::{Appender, Labels, METRIC_NAME, Sample, SeriesSamples, stale_nan};

/// Largest scrape body accepted.
pub(crate) const MAX_BODY_BYTES: usize = 256 << 20;

/// Everything a loop needs; shared with its blocking helpers.
pub(crate) struct LoopCtx {
    pub job: Arc<ScrapeConfig>,
    /// `Accept` header derived from `scrape_protocols`.
    pub accept: String,
    /// The pool's client settings (credentials are read from them at every scrape).
    pub http: vigia_httpclient::HttpClientConfig,
    pub target: Target,
    pub client: reqwest::Client,
    pub appender: Arc<dyn Appender>,
    pub metadata: Arc<MetadataStore>,
    pub health: Arc<Mutex<Health>>,
    pub limits: Limits,
}

/// How a loop is asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The target went away: write staleness markers for everything it reported.
    Stale,
    /// Shutdown: stop without writing anything.
    Silent,
    /// A successor loop for the same target takes over this loop's state.
    Handover,
}

/// What a loop remembers between scrapes (handed to a successor on reload).
#[derive(Debug, Default)]
pub(crate) struct LoopState {
    /// Series written by the last successful scrape.
    pub series: HashSet<Labels>,
    /// Hashes of every series of the last scrape (for `scrape_series_added`).
    pub seen: HashSet<u64>,
    /// The synthetic series written so far.
    pub report: Vec<Labels>,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Delay before the first scrape so that targets spread over the interval by their hash while
/// each keeps a fixed phase.
pub(crate) fn offset_delay(hash: u64, interval_ms: i64, now: i64) -> Duration {
    let iv = interval_ms.max(1);
    let offset = (hash % iv as u64) as i64;
    let base = now - now.rem_euclid(iv);
    let mut next = base + offset;
    if next < now {
        next += iv;
    }
    Duration::from_millis((next - now).max(0) as u64)
}

async fn wait_stop(rx: &mut watch::Receiver<Option<Stop>>) -> Stop {
    loop {
        if let Some(m) = *rx.borrow_and_update() {
            return m;
        }
        if rx.changed().await.is_err() {
            return rx.borrow().unwrap_or(Stop::Silent);
        }
    }
}

/// Runs the loop until stopped; returns its state for a successor.
pub(crate) async fn run(
    ctx: Arc<LoopCtx>,
    mut stop: watch::Receiver<Option<Stop>>,
    predecessor: Option<JoinHandle<LoopState>>,
) -> LoopState {
    let mut state = match predecessor {
        Some(h) => h.await.unwrap_or_default(),
        None => LoopState::default(),
    };
    let iv = Duration::from_millis(ctx.target.interval_ms.max(1) as u64);
    let delay = offset_delay(ctx.target.key(), ctx.target.interval_ms, now_ms());
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + delay, iv);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let stopped = tokio::select! {
            _ = ticker.tick() => None,
            m = wait_stop(&mut stop) => Some(m),
        };
        if let Some(m) = stopped {
            return finish(&ctx, state, m).await;
        }
        let stopped = tokio::select! {
            _ = scrape_once(&ctx, &mut state) => None,
            m = wait_stop(&mut stop) => Some(m),
        };
        if let Some(m) = stopped {
            return finish(&ctx, state, m).await;
        }
    }
}

async fn finish(ctx: &Arc<LoopCtx>, mut state: LoopState, mode: Stop) -> LoopState {
    if mode == Stop::Stale {
        let t = now_ms();
        let batch: Vec<SeriesSamples> = state
            .series
            .drain()
            .chain(state.report.drain(..))
            .map(|labels| SeriesSamples {
                labels,
                samples: vec![Sample::new(t, stale_nan())],
            })
            .collect();
        if let Err(e) = append(ctx, batch).await {
            tracing::warn!(url = %ctx.target.url, error = %e, "writing staleness markers failed");
        }
    }
    state
}

async fn append(ctx: &Arc<LoopCtx>, batch: Vec<SeriesSamples>) -> Result<(), String> {
    if batch.is_empty() {
        return Ok(());
    }
    let appender = ctx.appender.clone();
    match tokio::task::spawn_blocking(move || appender.append(&batch)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(format!("append task failed: {e}")),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

async fn fetch(ctx: &LoopCtx) -> Result<(Vec<u8>, Option<String>), String> {
    let timeout = Duration::from_millis(ctx.target.timeout_ms.max(1) as u64);
    let fut = async {
        let req = vigia_httpclient::authorize(ctx.client.get(&ctx.target.url), &ctx.http)
            .map_err(|e| e.to_string())?;
        let mut resp = req
            .header(reqwest::header::ACCEPT, ctx.accept.as_str())
            .header(
                "X-Prometheus-Scrape-Timeout-Seconds",
                format!("{}", timeout.as_secs_f64()),
            )
            .send()
            .await
            .map_err(|e| error_chain(&e))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(format!("server returned HTTP status {status}"));
        }
        let ct = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let limit = match ctx.job.body_size_limit {
            Some(b) if b.0 > 0 => b.bytes(),
            _ => MAX_BODY_BYTES,
        };
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| error_chain(&e))? {
            if body.len() + chunk.len() > limit {
                return Err(format!("body size limit of {limit} bytes exceeded"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((body, ct))
    };
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "scrape timed out after {}",
            vigia_model::format_duration(ctx.target.timeout_ms)
        )),
    }
}

/// Attaches the target labels to a scraped series. With `honor_labels` the scraped values win;
/// otherwise target labels win and clashing scraped labels are kept as `exported_<name>`.
pub(crate) fn merge_target_labels(target: &Labels, scraped: &Labels, honor_labels: bool) -> Labels {
    let mut b = scraped.builder();
    if honor_labels {
        for l in target {
            if scraped.get(&l.name).is_none() {
                b.set(l.name.clone(), l.value.clone());
            }
        }
        return b.build();
    }
    let mut conflicts = Vec::new();
    for l in target {
        if let Some(v) = scraped.get(&l.name) {
            conflicts.push((l.name.clone(), v.to_string()));
        }
        b.set(l.name.clone(), l.value.clone());
    }
    conflicts.sort_by_key(|(n, _)| n.len());
    for (name, value) in conflicts {
        let mut new_name = name;
        loop {
            new_name = format!("exported_{new_name}");
            if b.get(&new_name).is_none() {
                b.set(new_name, value);
                break;
            }
        }
    }
    b.build()
}

/// The result of processing one scrape body.
#[derive(Debug)]
pub(crate) struct Built {
    pub series: Vec<SeriesSamples>,
    pub scraped: usize,
}

/// Parses and relabels a body; an `Err` fails the whole scrape.
pub(crate) fn build_batch(
    job: &ScrapeConfig,
    target_labels: &Labels,
    limits: &Limits,
    metadata: &MetadataStore,
    body: &[u8],
    content_type: Option<&str>,
    ts: i64,
) -> Result<Built, String> {
    let known = content_type.is_some_and(|ct| {
        let media = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        matches!(
            media.as_str(),
            "text/plain" | "application/openmetrics-text"
        ) || media.starts_with("application/vnd.google.protobuf")
    });
    let fallback = match job.fallback_scrape_protocol.as_deref() {
        Some(p) if p.starts_with("OpenMetrics") => Some("application/openmetrics-text"),
        _ => None,
    };
    let content_type = if known { content_type } else { fallback };
    let decoded = textformat::parse(body, content_type, ts, limits).map_err(|e| e.to_string())?;
    metadata.record(&decoded.metadata);
    let scraped = decoded.sample_count();
    let mut out = Vec::with_capacity(decoded.series.len());
    for s in decoded.series {
        let labels = merge_target_labels(target_labels, &s.labels, job.honor_labels);
        let Some(labels) = relabel::process(&labels, &job.metric_relabel_configs) else {
            continue;
        };
        // Relabelling (e.g. labelmap, or a replace of __name__) can produce names that are not
        // valid; as in Prometheus such a sample fails the whole scrape.
        let name_ok = labels
            .metric_name()
            .is_some_and(vigia_model::is_valid_metric_name);
        if !name_ok
            || labels
                .iter()
                .any(|l| !vigia_model::is_valid_label_name(&l.name))
        {
            return Err(format!("invalid metric name or label names: {labels}"));
        }
        for l in &labels {
            if job.label_name_length_limit > 0 && l.name.len() > job.label_name_length_limit {
                return Err(format!(
                    "label_name_length_limit exceeded (metric: {}, label name: {}, limit: {})",
                    labels.metric_name().unwrap_or(""),
                    l.name,
                    job.label_name_length_limit
                ));
            }
            if job.label_value_length_limit > 0 && l.value.len() > job.label_value_length_limit {
                return Err(format!(
                    "label_value_length_limit exceeded (metric: {}, label name: {}, value length: {}, limit: {})",
                    labels.metric_name().unwrap_or(""),
                    l.name,
                    l.value.len(),
                    job.label_value_length_limit
                ));
            }
        }
        if job.label_limit > 0 && labels.len() > job.label_limit {
            return Err(format!(
                "label_limit exceeded (metric: {}, number of labels: {}, limit: {})",
                labels.metric_name().unwrap_or(""),
                labels.len(),
                job.label_limit
            ));
        }
        let mut samples = s.samples;
        if !job.honor_timestamps {
            for x in &mut samples {
                x.t = ts;
            }
        }
        out.push(SeriesSamples { labels, samples });
    }
    let n: usize = out.iter().map(|s| s.samples.len()).sum();
    if job.sample_limit > 0 && n > job.sample_limit {
        return Err(format!(
            "sample_limit exceeded ({n} > {})",
            job.sample_limit
        ));
    }
    Ok(Built {
        series: out,
        scraped,
    })
}

fn report_series(target: &Labels, ts: i64, values: [(&str, f64); 5]) -> Vec<SeriesSamples> {
    values
        .iter()
        .map(|(name, v)| {
            let mut b = target.builder();
            b.set(METRIC_NAME, *name);
            SeriesSamples {
                labels: b.build(),
                samples: vec![Sample::new(ts, *v)],
            }
        })
        .collect()
}

async fn scrape_once(ctx: &Arc<LoopCtx>, state: &mut LoopState) {
    let ts = now_ms();
    let started = std::time::Instant::now();
    let built = match fetch(ctx).await {
        Ok((body, ct)) => {
            let c = ctx.clone();
            tokio::task::spawn_blocking(move || {
                build_batch(
                    &c.job,
                    &c.target.labels,
                    &c.limits,
                    &c.metadata,
                    &body,
                    ct.as_deref(),
                    ts,
                )
            })
            .await
            .unwrap_or_else(|e| Err(format!("parse task failed: {e}")))
        }
        Err(e) => Err(e),
    };
    let (mut batch, scraped, mut err) = match built {
        Ok(b) => (b.series, b.scraped, None),
        Err(e) => (Vec::new(), 0, Some(e)),
    };
    let post = batch.iter().map(|s| s.samples.len()).sum::<usize>();
    // Series exposed with their own timestamps are not tracked for staleness (as in Prometheus
    // without track_timestamps_staleness): a marker at the scrape time could land before them.
    let track_all = ctx.job.track_timestamps_staleness;
    let current: HashSet<Labels> = batch
        .iter()
        .filter(|s| track_all || s.samples.iter().all(|x| x.t == ts))
        .map(|s| s.labels.clone())
        .collect();
    let seen: HashSet<u64> = batch.iter().map(|s| s.labels.stable_hash()).collect();
    let added = seen.iter().filter(|h| !state.seen.contains(*h)).count();
    state.seen = seen;
    for gone in state.series.iter().filter(|l| !current.contains(*l)) {
        batch.push(SeriesSamples {
            labels: gone.clone(),
            samples: vec![Sample::new(ts, stale_nan())],
        });
    }
    state.series = current;
    if let Err(e) = append(ctx, batch).await
        && err.is_none()
    {
        err = Some(format!("append failed: {e}"));
    }
    let duration = started.elapsed().as_secs_f64();
    let up = err.is_none();
    let report = report_series(
        &ctx.target.labels,
        ts,
        [
            ("up", if up { 1.0 } else { 0.0 }),
            ("scrape_duration_seconds", duration),
            ("scrape_samples_scraped", scraped as f64),
            ("scrape_samples_post_metric_relabeling", post as f64),
            ("scrape_series_added", added as f64),
        ],
    );
    state.report = report.iter().map(|s| s.labels.clone()).collect();
    if let Err(e) = append(ctx, report).await {
        tracing::warn!(url = %ctx.target.url, error = %e, "appending scrape report failed");
    }
    if let Some(e) = &err {
        tracing::debug!(url = %ctx.target.url, error = %e, "scrape failed");
    }
    if let Ok(mut h) = ctx.health.lock() {
        h.up = Some(up);
        h.last_error = err.unwrap_or_default();
        h.last_scrape_ms = Some(ts);
        h.last_duration_s = duration;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exported_prefix_on_conflict() {
        let target = Labels::from_pairs([("job", "j"), ("instance", "i")]);
        let scraped =
            Labels::from_pairs([("__name__", "m"), ("job", "other"), ("exported_job", "x")]);
        let m = merge_target_labels(&target, &scraped, false);
        assert_eq!(m.get("job"), Some("j"));
        assert_eq!(m.get("exported_job"), Some("x"));
        assert_eq!(m.get("exported_exported_job"), Some("other"));
        let h = merge_target_labels(&target, &scraped, true);
        assert_eq!(h.get("job"), Some("other"));
        assert_eq!(h.get("instance"), Some("i"));
    }

    #[test]
    fn offsets_stay_within_interval() {
        for h in [0u64, 1, 12345, u64::MAX] {
            let d = offset_delay(h, 15_000, 1_700_000_000_123);
            assert!(d < Duration::from_millis(15_000));
        }
        // Same hash → same phase.
        let a = offset_delay(42, 10_000, 1_000_000_000_000).as_millis() as i64 + 1_000_000_000_000;
        let b = offset_delay(42, 10_000, 1_000_000_003_000).as_millis() as i64 + 1_000_000_003_000;
        assert_eq!(a.rem_euclid(10_000), b.rem_euclid(10_000));
    }

    #[test]
    fn limits_and_relabel_in_batch() {
        let mut job: ScrapeConfig = serde_saphyr::from_str(
            "job_name: j\nhonor_timestamps: false\nmetric_relabel_configs: [{source_labels: [__name__], regex: drop_me, action: drop}]",
        )
        .unwrap();
        let target = Labels::from_pairs([("job", "j")]);
        let md = MetadataStore::new();
        let body = b"# TYPE a counter\na 1 5\ndrop_me 2\nb{x=\"1\",y=\"22\"} 3\n";
        let b = build_batch(&job, &target, &Limits::default(), &md, body, None, 100).unwrap();
        assert_eq!(b.scraped, 3);
        assert_eq!(b.series.len(), 2);
        assert_eq!(b.series[0].samples, vec![Sample::new(100, 1.0)]);
        assert_eq!(md.query(Some("a"), None)["a"][0].kind, "counter");
        job.sample_limit = 1;
        assert!(
            build_batch(&job, &target, &Limits::default(), &md, body, None, 100)
                .unwrap_err()
                .contains("sample_limit")
        );
        job.sample_limit = 0;
        job.label_value_length_limit = 1;
        assert!(
            build_batch(&job, &target, &Limits::default(), &md, body, None, 100)
                .unwrap_err()
                .contains("label_value_length_limit")
        );
        job.label_value_length_limit = 0;
        job.label_name_length_limit = 3;
        assert!(
            build_batch(&job, &target, &Limits::default(), &md, body, None, 100)
                .unwrap_err()
                .contains("label_name_length_limit")
        );
        job.label_name_length_limit = 0;
        let mut bad = job.clone();
        bad.metric_relabel_configs =
            serde_saphyr::from_str("[{regex: 'x', replacement: 'bad-name', action: labelmap}]")
                .unwrap();
        assert!(
            build_batch(&bad, &target, &Limits::default(), &md, body, None, 100)
                .unwrap_err()
                .contains("invalid metric name or label names")
        );
        job.label_limit = 3;
        assert!(
            build_batch(&job, &target, &Limits::default(), &md, body, None, 100)
                .unwrap_err()
                .contains("label_limit")
        );
    }
}
