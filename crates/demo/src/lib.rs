//! The simulator behind `vigia demo`: a webinar campaign and the infrastructure that serves it.
//!
//! This crate's one responsibility is to compute, deterministically for a seed, the samples of
//! every demo series (the campaign's `vigia_*` series of docs/series.md, node_exporter-like host
//! series and an HTTP service) for any time range, with faults at fixed, documented times.
//! It is pure computation: no I/O, no clock, no threads. Feeding a store is the caller's job.
//!
//! ```
//! use vigia_demo::{SimConfig, Simulator};
//! let mut sim = Simulator::new(SimConfig::new(42, 1_795_392_000_000));
//! let batch = sim.samples(1_795_392_000_000, 1_795_392_000_000 + 3_600_000);
//! assert_eq!(batch.len(), sim.series_count());
//! assert!(batch.iter().all(|s| s.samples.len() == 60));
//! ```
#![deny(missing_docs)]

mod campaign;
mod events;
mod infra;
mod rng;
mod schedule;
mod series;

pub use events::{AttendanceAction, Event, EventKind, UTM_CAMPAIGN};
pub use schedule::{Fault, FaultKind, SimConfig};

use campaign::{Campaign, CampaignState};
use infra::{Infra, InfraState};
use rng::Rng;
use schedule::Schedule;
use series::{Catalog, Presence};
use vigia_model::{Labels, Sample, SeriesSamples, stale_nan};

/// Steps between two checkpoints of the simulation state.
const CHECKPOINT_STEPS: i64 = 1440;
/// Longest range, in steps, that one call produces (≈ 69 days at 60 s, ≈ 1 GB of samples with
/// 8 hosts); longer ranges are cut. Backfill a day or so per call.
pub const MAX_STEPS_PER_CALL: i64 = 100_000;
/// Last step the simulation reaches (≈ 19 years at 60 s); nothing is produced after it.
pub const MAX_STEP: i64 = 10_000_000;

/// Everything that changes from step to step.
#[derive(Debug, Clone)]
struct State {
    /// Index of the step whose values `values` holds.
    k: i64,
    values: Vec<f64>,
    presence: Vec<Presence>,
    campaign: CampaignState,
    infra: InfraState,
}

/// The campaign and infrastructure simulator.
///
/// Samples fall on `start_ms + k * step_ms` for `k >= 0`. The state advances incrementally;
/// asking for an earlier range restarts from the nearest daily checkpoint, so any range can be
/// requested in any order and always yields the same samples.
#[derive(Debug, Clone)]
pub struct Simulator {
    seed: u64,
    sched: Schedule,
    catalog: Catalog,
    campaign: Campaign,
    infra: Infra,
    state: State,
    checkpoints: Vec<State>,
}

impl Simulator {
    /// Builds the simulator (registers the series, precomputes the campaign's normalisation).
    pub fn new(cfg: SimConfig) -> Self {
        let mut cfg = cfg;
        cfg.hosts = cfg.hosts.clamp(5, 10);
        let sched = Schedule::new(&cfg);
        let mut catalog = Catalog::default();
        let campaign = Campaign::new(&mut catalog, &sched, cfg.seed);
        let infra = Infra::new(&mut catalog, cfg.hosts);
        let state = Self::initial_state(&sched, &infra, cfg.seed, catalog.labels.len());
        Self {
            seed: cfg.seed,
            sched,
            catalog,
            campaign,
            infra,
            checkpoints: vec![state.clone()],
            state,
        }
    }

    /// The state at step 0: campaign counters 0, hosts at their uptime.
    fn initial_state(sched: &Schedule, infra: &Infra, seed: u64, n: usize) -> State {
        let mut values = vec![0.0; n];
        let mut presence = vec![Presence::Present; n];
        let infra_state = infra.init(sched, seed, &mut values, &mut presence);
        State {
            k: 0,
            values,
            presence,
            campaign: CampaignState::default(),
            infra: infra_state,
        }
    }

    /// A simulator placed for `vigia demo`: history `[end_ms - history_ms, end_ms)`, then live.
    ///
    /// With at least 14 days of history the timeline is [`SimConfig::new`]'s (the story of
    /// faults and the webinar 12 days in). With less, the webinar starts `min(3 h, history / 2)`
    /// before `end_ms`, so attendance, engagement and the first conversions are in the history.
    /// In both cases the live fault cycle starts 25 minutes before `end_ms`: its first error
    /// burst begins 5 minutes before the end of the history and the next faults follow live.
    pub fn for_demo(seed: u64, end_ms: i64, history_ms: i64) -> Self {
        let history = history_ms.max(schedule::MINUTE);
        let mut cfg = SimConfig::new(seed, end_ms.saturating_sub(history));
        if history < 14 * schedule::DAY {
            cfg.webinar_at_ms = end_ms.saturating_sub((3 * schedule::HOUR).min(history / 2));
        }
        Self::new(cfg).with_live_faults_from(Some(end_ms.saturating_sub(25 * schedule::MINUTE)))
    }

    /// Number of series the simulator produces.
    pub fn series_count(&self) -> usize {
        self.catalog.labels.len()
    }

    /// Labels of every series, in the order [`Simulator::samples`] returns them.
    pub fn series_labels(&self) -> &[Labels] {
        &self.catalog.labels
    }

    /// The resolution, ms.
    pub fn step_ms(&self) -> i64 {
        self.sched.step
    }

    /// When the webinar starts, ms since the Unix epoch.
    pub fn webinar_at_ms(&self) -> i64 {
        self.sched.webinar
    }

    /// The scheduled faults in time order: the story of the first 11 days after the start (see
    /// the crate README) and the first 24 hours of the live cycle (use
    /// [`Simulator::faults_between`] for later cycles).
    pub fn faults(&self) -> Vec<Fault> {
        self.sched.faults()
    }

    /// Every fault overlapping `[from_ms, to_ms)`, in time order.
    pub fn faults_between(&self, from_ms: i64, to_ms: i64) -> Vec<Fault> {
        self.sched.faults_between(from_ms, to_ms)
    }

    /// Where the live fault cycle starts: a 3-hour cycle (an error burst, a latency spike, a
    /// disk filling up on web-4, a memory leak ending in a crash on web-2) repeated for ever, so
    /// that a live demo keeps raising alerts. Defaults to 14 days after the UTC midnight of the
    /// start day (the end of the default history); `None` disables it. Call before generating
    /// anything: the simulation restarts from the beginning.
    pub fn with_live_faults_from(mut self, from_ms: Option<i64>) -> Self {
        self.sched.live_from = from_ms;
        self.checkpoints.clear();
        self.state = Self::initial_state(
            &self.sched,
            &self.infra,
            self.seed,
            self.catalog.labels.len(),
        );
        self.checkpoints.push(self.state.clone());
        self
    }

    /// When the live fault cycle starts, if it is enabled.
    pub fn live_faults_from(&self) -> Option<i64> {
        self.sched.live_from
    }

    /// All samples with `t` in `[from_ms, to_ms)` on the step grid (at most
    /// [`MAX_STEPS_PER_CALL`] steps, none after [`MAX_STEP`]), one entry per series in [`Simulator::series_labels`]
    /// order, skipping series without a sample in the range. Nothing exists before `start_ms`.
    /// Counters are monotonic except when a host reboots; splitting a range into several
    /// calls yields exactly the same samples.
    pub fn samples(&mut self, from_ms: i64, to_ms: i64) -> Vec<SeriesSamples> {
        let Some((k0, k1)) = self.step_range(from_ms, to_ms) else {
            return Vec::new();
        };
        self.seek(k0);
        let n = self.series_count();
        let cap = usize::try_from(k1 - k0).unwrap_or(0).min(4096);
        let mut out: Vec<Vec<Sample>> = (0..n).map(|_| Vec::with_capacity(cap)).collect();
        for k in k0..k1 {
            if k > self.state.k {
                self.advance();
            }
            let t = self.sched.t(k);
            for ((col, &v), &p) in out
                .iter_mut()
                .zip(&self.state.values)
                .zip(&self.state.presence)
            {
                match p {
                    Presence::Present => col.push(Sample::new(t, v)),
                    Presence::Stale => col.push(Sample::new(t, stale_nan())),
                    Presence::Absent => {}
                }
            }
        }
        self.catalog
            .labels
            .iter()
            .zip(out)
            .filter(|(_, s)| !s.is_empty())
            .map(|(l, samples)| SeriesSamples {
                labels: l.clone(),
                samples,
            })
            .collect()
    }

    /// The business events of the steps whose sample time lies in `[from_ms, to_ms)` (each
    /// event's timestamp lies in the step's interval `(t - step, t]`), in time order. Counting
    /// them gives exactly the campaign counters of [`Simulator::samples`] (page load times are
    /// drawn per view, so the load-time histogram differs in detail). Ids are
    /// `{seed:x}-{start_ms}-{step}-{index}`: the same simulation always yields the same ids, so
    /// an events API that drops repeated ids makes re-sending harmless. Lower-volume than
    /// metrics, but an email blast still yields tens of thousands of events.
    pub fn events(&mut self, from_ms: i64, to_ms: i64) -> Vec<Event> {
        let Some((k0, k1)) = self.step_range(from_ms, to_ms) else {
            return Vec::new();
        };
        let k0 = k0.max(1);
        self.seek(k0 - 1);
        let mut out = Vec::new();
        let run = format!("{:x}-{}", self.seed, self.sched.start);
        for k in k0..k1 {
            let delta = self.advance();
            let t = self.sched.t(k);
            out.extend(events::from_delta(
                &delta,
                &self.state.campaign,
                self.seed,
                &run,
                k,
                t,
                self.sched.step,
            ));
        }
        out
    }

    /// Step indices `[k0, k1)` covering `[from_ms, to_ms)`, or `None` when empty.
    fn step_range(&self, from_ms: i64, to_ms: i64) -> Option<(i64, i64)> {
        let step = self.sched.step;
        let ceil = |t: i64| {
            let d = t.saturating_sub(self.sched.start);
            (d.div_euclid(step) + i64::from(d.rem_euclid(step) != 0)).max(0)
        };
        let k0 = ceil(from_ms);
        let k1 = ceil(to_ms)
            .min(k0.saturating_add(MAX_STEPS_PER_CALL))
            .min(MAX_STEP + 1);
        (k1 > k0).then_some((k0, k1))
    }

    /// Brings the state to step `k` (restoring a checkpoint when `k` is in the past).
    fn seek(&mut self, k: i64) {
        if k < self.state.k {
            let restore = self
                .checkpoints
                .iter()
                .rev()
                .find(|c| c.k <= k)
                .or(self.checkpoints.first());
            if let Some(c) = restore {
                self.state = c.clone();
            }
        }
        while self.state.k < k {
            self.advance();
        }
    }

    /// Computes the next step; returns what happened in the campaign.
    fn advance(&mut self) -> campaign::CampaignDelta {
        let k = self.state.k + 1;
        let t = self.sched.t(k);
        let mut rng = Rng::for_step(self.seed, k);
        let st = &mut self.state;
        st.k = k;
        let faults = self.sched.active(t);
        let delta = self.campaign.step(
            &self.sched,
            &mut st.campaign,
            &mut st.values,
            &mut rng,
            t,
            &faults,
        );
        let attendees = st.campaign.attendees;
        let driven = Some((&delta, attendees));
        self.infra.step(
            &self.sched,
            &mut st.infra,
            &mut st.values,
            &mut st.presence,
            &mut rng,
            t,
            &faults,
            driven,
        );
        if k % CHECKPOINT_STEPS == 0 && self.checkpoints.last().is_none_or(|c| c.k < k) {
            self.checkpoints.push(self.state.clone());
        }
        delta
    }
}
