//! The infrastructure: hosts with node_exporter series (`node_*`, `up{job="node"}`) and the
//! campaign's HTTP service on each host (`http_requests_total`, `http_request_duration_seconds`,
//! `up{job="web"}`), whose traffic follows the campaign. Applies the infrastructure faults.

use crate::campaign::CampaignDelta;
use crate::rng::{Rng, mix64};
use crate::schedule::{Active, DAY, HOUR, Schedule, activity};
use crate::series::{Catalog, Histogram, Presence};

/// HTTP routes of the campaign site.
pub(crate) const ROUTES: [&str; 3] = ["/", "/api/register", "/webinar"];
/// Median latency per route at low load, seconds.
const ROUTE_MEDIAN: [f64; 3] = [0.06, 0.18, 0.04];
/// Log-space spread of request latencies.
const LATENCY_SIGMA: f64 = 0.55;
/// Status codes, in series order.
pub(crate) const CODES: [&str; 4] = ["200", "404", "500", "503"];
/// CPU modes reported per CPU.
const CPU_MODES: [&str; 5] = ["idle", "user", "system", "iowait", "steal"];
/// CPUs per host.
const CPUS: usize = 2;
/// Filesystems: (mountpoint, device, fstype, size in bytes).
const FILESYSTEMS: [(&str, &str, &str, f64); 2] = [
    ("/", "/dev/sda1", "ext4", 50e9),
    ("/var", "/dev/sdb1", "xfs", 200e9),
];
/// Requests a host serves per second before latency starts to climb.
const HOST_CAPACITY_RPS: f64 = 120.0;

/// Series indices of one host.
#[derive(Debug, Clone)]
struct Host {
    /// 1-based host number.
    n: usize,
    node_up: usize,
    web_up: usize,
    cpu: [[usize; 5]; CPUS],
    mem_avail: usize,
    mem_total: usize,
    mem_total_bytes: f64,
    fs_avail: [usize; 2],
    fs_size: [usize; 2],
    load: [usize; 3],
    net_rx: usize,
    net_tx: usize,
    disk_read: usize,
    disk_written: usize,
    disk_io_time: usize,
    disk_writes: usize,
    http: [[usize; 4]; 3],
    latency: Vec<Histogram>,
    /// Every series scraped from the host except `up` (these go stale when it is down).
    scraped: Vec<usize>,
    /// Counters that restart from 0 when the host reboots.
    counters: Vec<usize>,
}

/// Mutable per-host state.
#[derive(Debug, Clone, Default)]
pub(crate) struct HostState {
    mem_noise: f64,
    cpu_noise: f64,
    load: [f64; 3],
    /// Consecutive steps the host has been down.
    down_steps: u32,
    /// Steps since the last boot (large when never rebooted in the run).
    since_boot: u32,
}

/// Mutable infrastructure state.
#[derive(Debug, Clone, Default)]
pub(crate) struct InfraState {
    hosts: Vec<HostState>,
}

/// Series indices and constants of the infrastructure.
#[derive(Debug, Clone)]
pub(crate) struct Infra {
    hosts: Vec<Host>,
}

impl Infra {
    /// Registers `n` hosts' series.
    pub(crate) fn new(cat: &mut Catalog, n: usize) -> Self {
        let hosts = (1..=n).map(|i| Self::host(cat, i)).collect();
        Self { hosts }
    }

    fn host(cat: &mut Catalog, n: usize) -> Host {
        let node = format!("web-{n}:9100");
        let web = format!("web-{n}:8080");
        let nl = [("instance", node.as_str()), ("job", "node")];
        let wl = [("instance", web.as_str()), ("job", "web")];
        let with = |base: &[(&'static str, &str)],
                    extra: &[(&'static str, &'static str)]|
         -> Vec<(&'static str, String)> {
            base.iter()
                .chain(extra)
                .map(|(k, v)| (*k, v.to_string()))
                .collect()
        };
        let add = |cat: &mut Catalog, name: &str, pairs: Vec<(&str, String)>| {
            let p: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            cat.add(name, &p)
        };
        let node_up = add(cat, "up", with(&nl, &[]));
        let web_up = add(cat, "up", with(&wl, &[]));
        let cpu: [[usize; 5]; CPUS] = std::array::from_fn(|c| {
            let cpu_name = c.to_string();
            CPU_MODES.map(|mode| {
                let mut p = with(&nl, &[("mode", mode)]);
                p.push(("cpu", cpu_name.clone()));
                add(cat, "node_cpu_seconds_total", p)
            })
        });
        let mem_avail = add(cat, "node_memory_MemAvailable_bytes", with(&nl, &[]));
        let mem_total = add(cat, "node_memory_MemTotal_bytes", with(&nl, &[]));
        let fs_labels = |(mp, dev, fst, _): (&'static str, &'static str, &'static str, f64)| {
            with(&nl, &[("mountpoint", mp), ("device", dev), ("fstype", fst)])
        };
        let fs_avail = FILESYSTEMS.map(|f| add(cat, "node_filesystem_avail_bytes", fs_labels(f)));
        let fs_size = FILESYSTEMS.map(|f| add(cat, "node_filesystem_size_bytes", fs_labels(f)));
        let load =
            ["node_load1", "node_load5", "node_load15"].map(|name| add(cat, name, with(&nl, &[])));
        let net_rx = add(
            cat,
            "node_network_receive_bytes_total",
            with(&nl, &[("device", "eth0")]),
        );
        let net_tx = add(
            cat,
            "node_network_transmit_bytes_total",
            with(&nl, &[("device", "eth0")]),
        );
        let disk = |cat: &mut Catalog, name: &str| add(cat, name, with(&nl, &[("device", "sda")]));
        let disk_read = disk(cat, "node_disk_read_bytes_total");
        let disk_written = disk(cat, "node_disk_written_bytes_total");
        let disk_io_time = disk(cat, "node_disk_io_time_seconds_total");
        let disk_writes = disk(cat, "node_disk_writes_completed_total");
        let http = ROUTES.map(|route| {
            CODES.map(|code| {
                add(
                    cat,
                    "http_requests_total",
                    with(&wl, &[("route", route), ("code", code)]),
                )
            })
        });
        let latency = ROUTES
            .iter()
            .map(|route| {
                let p: Vec<(&str, &str)> =
                    vec![("instance", web.as_str()), ("job", "web"), ("route", route)];
                cat.add_histogram(
                    "http_request_duration_seconds",
                    &p,
                    &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5],
                )
            })
            .collect::<Vec<_>>();

        let mut counters: Vec<usize> = cpu.iter().flatten().copied().collect();
        counters.extend([
            net_rx,
            net_tx,
            disk_read,
            disk_written,
            disk_io_time,
            disk_writes,
        ]);
        counters.extend(http.iter().flatten());
        for h in &latency {
            counters.extend(h.all());
        }
        let mut scraped = counters.clone();
        scraped.extend([mem_avail, mem_total]);
        scraped.extend(fs_avail);
        scraped.extend(fs_size);
        scraped.extend(load);
        Host {
            n,
            node_up,
            web_up,
            cpu,
            mem_avail,
            mem_total,
            mem_total_bytes: if n % 2 == 1 { 8.0 } else { 16.0 } * (1u64 << 30) as f64,
            fs_avail,
            fs_size,
            load,
            net_rx,
            net_tx,
            disk_read,
            disk_written,
            disk_io_time,
            disk_writes,
            http,
            latency,
            scraped,
            counters,
        }
    }

    /// Initial state and values at the first step: node counters carry each host's uptime,
    /// HTTP counters start at 0 (the service launched with the campaign).
    pub(crate) fn init(
        &self,
        s: &Schedule,
        seed: u64,
        v: &mut [f64],
        presence: &mut [Presence],
    ) -> InfraState {
        let mut st = InfraState {
            hosts: vec![HostState::default(); self.hosts.len()],
        };
        for (h, hs) in self.hosts.iter().zip(st.hosts.iter_mut()) {
            let r = mix64(seed ^ (h.n as u64).wrapping_mul(0x9E37));
            let uptime_s = (3.0 + (r % 37) as f64) * 86_400.0;
            hs.since_boot = u32::MAX / 2;
            let set = |v: &mut [f64], i: usize, x: f64| {
                if let Some(slot) = v.get_mut(i) {
                    *slot = x.round();
                }
            };
            for cpu in &h.cpu {
                for (i, share) in cpu.iter().zip([0.90, 0.07, 0.02, 0.007, 0.003]) {
                    set(v, *i, uptime_s * share);
                }
            }
            set(v, h.net_rx, uptime_s * 40_000.0);
            set(v, h.net_tx, uptime_s * 900_000.0);
            set(v, h.disk_read, uptime_s * 200_000.0);
            set(v, h.disk_written, uptime_s * 1_800_000.0);
            set(v, h.disk_io_time, uptime_s * 0.05);
            set(v, h.disk_writes, uptime_s * 55.0);
        }
        let mut rng = Rng::for_step(seed, 0);
        self.step(
            s,
            &mut st,
            v,
            presence,
            &mut rng,
            s.t(0),
            &s.active(s.t(0)),
            None,
        );
        st
    }

    /// Advances one step ending at `t`, driven by the campaign's activity in that step
    /// (`None` at the initial step: gauges only, no counter increments).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn step(
        &self,
        s: &Schedule,
        st: &mut InfraState,
        v: &mut [f64],
        presence: &mut [Presence],
        rng: &mut Rng,
        t: i64,
        faults: &Active,
        campaign: Option<(&CampaignDelta, u64)>,
    ) {
        let step_s = s.step as f64 / 1000.0;
        let down = |h: &Host| faults.down.get(h.n).copied().unwrap_or(false);
        let fleet = Fleet {
            dt: if campaign.is_some() { step_s } else { 0.0 },
            step_min: s.step_min(),
            rates: fleet_rates(t, step_s, campaign),
            up_hosts: self.hosts.iter().filter(|h| !down(h)).count().max(1) as f64,
            burst: faults.error_burst,
            spike: if faults.latency_spike { 8.0 } else { 1.0 },
            initial: campaign.is_none(),
        };
        for (h, hs) in self.hosts.iter().zip(st.hosts.iter_mut()) {
            if down(h) {
                h.mark_down(hs, v, presence);
                continue;
            }
            h.mark_up(hs, v, presence);
            let leak = faults.leak.get(h.n).copied().flatten().unwrap_or(0.0);
            let fill = faults.fill.get(h.n).copied().flatten();
            let (reqs, host_rps) = h.serve_http(v, rng, &fleet, leak);
            let u = h.cpu_and_load(hs, v, rng, &fleet, host_rps, leak, fill.is_some());
            h.memory(hs, v, rng, u, leak);
            h.filesystems(v, t, fill);
            h.network_and_disk(v, rng, &fleet, &reqs, u, fill.is_some());
        }
    }
}

/// What every host shares in one step.
struct Fleet {
    /// Seconds of counter increments in the step (0 at the initial step).
    dt: f64,
    /// Step length in minutes.
    step_min: f64,
    /// Fleet request rates per route, requests per second.
    rates: [f64; 3],
    /// Hosts serving traffic (at least 1).
    up_hosts: f64,
    /// The error-burst fault is active.
    burst: bool,
    /// Latency multiplier of the latency-spike fault.
    spike: f64,
    /// The initial step: the load averages start settled.
    initial: bool,
}

/// Fleet request rates per route (requests per second) in the step ending at `t`, from the
/// campaign's page views, registrations and attendees in it.
fn fleet_rates(t: i64, step_s: f64, campaign: Option<(&CampaignDelta, u64)>) -> [f64; 3] {
    let act = activity(t);
    let (site_pv, reg_pv, web_pv, regs, attendees) = match campaign {
        Some((d, a)) => {
            let pv = |p: usize| d.page_views.get(p).map(|x| x[0] + x[1]).unwrap_or(0) as f64;
            (
                pv(0) + pv(1) + pv(2),
                pv(1),
                pv(3),
                d.registrations() as f64,
                a as f64,
            )
        }
        None => (0.0, 0.0, 0.0, 0.0, 0.0),
    };
    [
        18.0 * act + 30.0 * site_pv / step_s,
        2.0 * act + 10.0 * regs / step_s + 8.0 * reg_pv / step_s,
        1.0 + 0.4 * attendees + 30.0 * web_pv / step_s,
    ]
}

/// Sets series `i` to `x`.
fn set(v: &mut [f64], i: usize, x: f64) {
    if let Some(slot) = v.get_mut(i) {
        *slot = x;
    }
}

/// Adds `x` to series `i`.
fn add(v: &mut [f64], i: usize, x: f64) {
    if let Some(slot) = v.get_mut(i) {
        *slot += x;
    }
}

impl Host {
    /// A down host: `up` is 0 and its other series go stale (then absent).
    fn mark_down(&self, hs: &mut HostState, v: &mut [f64], presence: &mut [Presence]) {
        set(v, self.node_up, 0.0);
        set(v, self.web_up, 0.0);
        let mark = if hs.down_steps == 0 {
            Presence::Stale
        } else {
            Presence::Absent
        };
        for &i in &self.scraped {
            if let Some(p) = presence.get_mut(i) {
                *p = mark;
            }
        }
        hs.down_steps = hs.down_steps.saturating_add(1);
    }

    /// An up host: after a reboot its counters restart from zero; its series are present.
    fn mark_up(&self, hs: &mut HostState, v: &mut [f64], presence: &mut [Presence]) {
        if hs.down_steps > 0 {
            // Rebooted: counters restart from zero, gauges from a fresh process.
            for &i in &self.counters {
                set(v, i, 0.0);
            }
            hs.down_steps = 0;
            hs.since_boot = 0;
            hs.load = [0.0; 3];
        } else {
            hs.since_boot = hs.since_boot.saturating_add(1);
        }
        for &i in &self.scraped {
            if let Some(p) = presence.get_mut(i) {
                *p = Presence::Present;
            }
        }
        set(v, self.node_up, 1.0);
        set(v, self.web_up, 1.0);
    }

    /// HTTP traffic and latency: the host's share of the fleet's requests by route and status
    /// code (errors rise with the error burst and a memory leak near its end), and their
    /// latencies (slower with load, the latency spike and the leak). Returns the requests
    /// per route and the host's request rate.
    fn serve_http(
        &self,
        v: &mut [f64],
        rng: &mut Rng,
        fleet: &Fleet,
        leak: f64,
    ) -> ([u64; 3], f64) {
        let share = rng.jitter(0.04) / fleet.up_hosts;
        let mut host_rps = 0.0;
        let mut reqs = [0u64; 3];
        for (r, rate) in fleet.rates.iter().enumerate() {
            let n = if fleet.dt > 0.0 {
                rng.poisson(rate * share * fleet.dt)
            } else {
                0
            };
            reqs[r] = n;
            host_rps += rate * share;
        }
        let mut p500 = if fleet.burst { 0.10 } else { 0.0006 };
        let mut p503 = if fleet.burst { 0.05 } else { 0.0003 };
        if leak > 0.9 {
            p503 += 0.5 * (leak - 0.9);
            p500 += 0.1 * (leak - 0.9);
        }
        let load_factor = 1.0 + (host_rps / HOST_CAPACITY_RPS).powi(2);
        let leak_factor = 1.0 + 4.0 * leak.powi(4);
        for r in 0..3 {
            let n = reqs[r];
            let n500 = rng.thin(n, p500);
            let n503 = rng.thin(n - n500, p503);
            let n404 = rng.thin(n - n500 - n503, 0.015);
            let n200 = n - n500 - n503 - n404;
            for (c, x) in [n200, n404, n500, n503].into_iter().enumerate() {
                add(v, self.http[r][c], x as f64);
            }
            if let Some(hist) = self.latency.get(r) {
                let median = ROUTE_MEDIAN[r] * load_factor * fleet.spike * leak_factor;
                hist.observe_lognormal(v, rng, n, median, LATENCY_SIGMA);
            }
        }
        (reqs, host_rps)
    }

    /// CPU time per mode and the load averages, from the request rate, the leak and a disk
    /// filling up (`filling`: iowait). Returns the CPU utilisation.
    #[allow(clippy::too_many_arguments)]
    fn cpu_and_load(
        &self,
        hs: &mut HostState,
        v: &mut [f64],
        rng: &mut Rng,
        fleet: &Fleet,
        host_rps: f64,
        leak: f64,
        filling: bool,
    ) -> f64 {
        hs.cpu_noise = 0.9 * hs.cpu_noise + 0.3 * rng.normal();
        let mut u = 0.04
            + 0.7 * host_rps / (HOST_CAPACITY_RPS * 1.2)
            + 0.02 * hs.cpu_noise
            + 0.3 * leak.powi(3);
        if hs.since_boot < 3 {
            u = 0.9;
        }
        let u = u.clamp(0.01, 0.97);
        let fill_io = if filling { 0.12 } else { 0.0 };
        let dt = fleet.dt;
        for cpu in &self.cpu {
            let uc = (u * rng.jitter(0.08)).clamp(0.005, 0.98);
            let busy = [0.68 * uc, 0.22 * uc, 0.06 * uc + fill_io, 0.04 * uc];
            let idle = (1.0 - busy.iter().sum::<f64>()).max(0.0);
            add(v, cpu[0], idle * dt);
            for (i, b) in busy.iter().enumerate() {
                add(v, cpu[i + 1], b * dt);
            }
        }
        let load1 = (CPUS as f64 * u * 1.2 * rng.jitter(0.1) + 2.0 * fill_io).max(0.0);
        let step_min = fleet.step_min;
        if fleet.initial {
            // Initial step: the averages start settled.
            hs.load = [load1; 3];
        }
        hs.load[0] = load1;
        hs.load[1] += (load1 - hs.load[1]) * (1.0 - (-step_min / 5.0).exp());
        hs.load[2] += (load1 - hs.load[2]) * (1.0 - (-step_min / 15.0).exp());
        for (i, x) in self.load.iter().zip(hs.load) {
            set(v, *i, (x * 100.0).round() / 100.0);
        }
        u
    }

    /// Available memory, falling with CPU utilisation `u` and a memory leak.
    fn memory(&self, hs: &mut HostState, v: &mut [f64], rng: &mut Rng, u: f64, leak: f64) {
        hs.mem_noise = 0.98 * hs.mem_noise + 0.2 * rng.normal();
        let mut avail = 0.62 - 0.12 * u + 0.03 * hs.mem_noise;
        if leak > 0.0 {
            avail *= 1.0 - 0.97 * leak.powf(1.2);
        }
        let total = self.mem_total_bytes;
        set(v, self.mem_total, total);
        set(
            v,
            self.mem_avail,
            (total * avail.clamp(0.005, 0.95) / 4096.0).round() * 4096.0,
        );
    }

    /// Filesystems: `/` nearly constant, `/var` grows with logs and is rotated at 03:00 (and
    /// fills up during the disk-fill fault, `fill` being its progress).
    fn filesystems(&self, v: &mut [f64], t: i64, fill: Option<f64>) {
        let since_rotation = (t - 3 * HOUR).rem_euclid(DAY) as f64 / DAY as f64;
        let used = [
            0.38 + 0.01 * self.n as f64 + 0.00001 * (t / HOUR).rem_euclid(1000) as f64,
            0.30 + 0.02 * self.n as f64 + 0.05 * since_rotation,
        ];
        for (f, (_, _, _, size)) in FILESYSTEMS.iter().enumerate() {
            let mut used_f = used[f];
            if f == 1 && fill.is_some() {
                used_f += (0.985 - used_f) * fill.unwrap_or(0.0);
            }
            let reserved = if f == 0 { 0.05 } else { 0.0 };
            set(v, self.fs_size[f], *size);
            set(
                v,
                self.fs_avail[f],
                (size * (1.0 - used_f - reserved) / 4096.0).round() * 4096.0,
            );
        }
    }

    /// Network bytes from the requests `reqs`, and disk I/O from CPU utilisation `u` and a
    /// disk filling up (`filling`).
    fn network_and_disk(
        &self,
        v: &mut [f64],
        rng: &mut Rng,
        fleet: &Fleet,
        reqs: &[u64; 3],
        u: f64,
        filling: bool,
    ) {
        let dt = fleet.dt;
        let fill_io = if filling { 0.12 } else { 0.0 };
        let n_req: u64 = reqs.iter().sum();
        add(
            v,
            self.net_rx,
            (n_req as f64 * 1200.0 + 2000.0 * dt * rng.jitter(0.1)).round(),
        );
        add(
            v,
            self.net_tx,
            (n_req as f64 * 28_000.0 * rng.jitter(0.05) + 1500.0 * dt).round(),
        );
        let fill_bytes = if filling {
            0.6 * 200e9 / (12.0 * 3600.0)
        } else {
            0.0
        };
        let written = ((1.5e6 + 3e6 * u) * rng.jitter(0.2) + fill_bytes) * dt;
        add(v, self.disk_written, written.round());
        add(
            v,
            self.disk_read,
            (0.8e6 * u * rng.jitter(0.3) * dt).round(),
        );
        add(
            v,
            self.disk_io_time,
            (0.01 + 0.3 * u + 3.0 * fill_io).min(1.0) * dt,
        );
        add(v, self.disk_writes, (written / 32_768.0).round());
    }
}
