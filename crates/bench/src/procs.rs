//! Running server processes for benchmarks: start on loopback with ephemeral ports, wait for
//! readiness, read CPU time and peak memory from /proc, measure directory sizes.

use crate::error::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server process killed on drop.
pub struct Server {
    /// The process.
    pub child: Child,
    /// Base URL.
    pub url: String,
    /// Name for reports.
    pub name: &'static str,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free port on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Finds a Debian-packaged binary.
pub fn find_binary(name: &str) -> Option<PathBuf> {
    ["/usr/bin", "/usr/sbin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// Starts `cmd`, then polls `url + ready_path` until it answers 200.
pub fn start(
    name: &'static str,
    mut cmd: Command,
    url: String,
    ready_path: &str,
) -> Result<Server> {
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {name}"))?;
    let server = Server { child, url, name };
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Ok(r) = client.get(format!("{}{ready_path}", server.url)).send()
            && r.status().is_success()
        {
            return Ok(server);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{name} did not become ready at {}", server.url)
}

/// User+system CPU seconds of a process, from /proc/<pid>/stat.
pub fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let get = |i: usize| f.get(i).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    (get(11) + get(12)) / 100.0
}

/// Peak and current resident memory (VmHWM, VmRSS) in bytes, from /proc/<pid>/status.
pub fn rss(pid: u32) -> (u64, u64) {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return (0, 0);
    };
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Total bytes of regular files under `dir`.
pub fn dir_bytes(dir: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Creates `vigia-bench-<what>-<pid>-<ms>` under the system temporary directory.
    pub fn new(what: &str) -> Result<TempDir> {
        let p = std::env::temp_dir().join(format!(
            "vigia-bench-{what}-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_millis()
        ));
        std::fs::create_dir_all(&p)?;
        Ok(TempDir(p))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A progress bar labelled `what` (hidden when `hidden`, e.g. for `--json` output).
pub fn bar(len: u64, what: &str, hidden: bool) -> indicatif::ProgressBar {
    let pb = if hidden {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(len)
    };
    pb.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{what:>22} {{bar:40}} {{pos}}/{{len}} {{msg}}"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    pb
}

/// Starts `vigia serve` (this executable unless `exe` is given) on an ephemeral port with a
/// fresh data directory `dir`, plus `extra` flags; waits until ready.
pub fn start_vigia(exe: Option<&Path>, dir: &Path, extra: &[&std::ffi::OsStr]) -> Result<Server> {
    let exe = match exe {
        Some(p) => p.to_path_buf(),
        None => std::env::current_exe()?,
    };
    let port = free_port()?;
    let _ = std::fs::remove_dir_all(dir);
    let mut cmd = Command::new(&exe);
    cmd.args([
        "serve",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--data-dir",
    ])
    .arg(dir)
    .args(extra);
    start("vigia", cmd, format!("http://127.0.0.1:{port}"), "/-/ready")
}

/// The benchmark's working directory: `given` (created if needed), or a temporary directory
/// removed when the returned guard drops.
pub fn work_dir(given: Option<&Path>, what: &str) -> Result<(Option<TempDir>, PathBuf)> {
    match given {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            Ok((None, d.to_path_buf()))
        }
        None => {
            let t = TempDir::new(what)?;
            let p = t.0.clone();
            Ok((Some(t), p))
        }
    }
}

/// Debian's `prometheus` on 127.0.0.1:`port` with its data and `config` (YAML) under `dir` and
/// the remote-write receiver on; callers add their own flags.
pub fn prometheus(bin: &Path, dir: &Path, port: u16, config: &str) -> Result<Command> {
    std::fs::create_dir_all(dir)?;
    let cfg = dir.join("prometheus.yml");
    std::fs::write(&cfg, config)?;
    let mut cmd = Command::new(bin);
    cmd.arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-remote-write-receiver");
    Ok(cmd)
}

/// Prints a report as JSON or with `table`.
pub fn print_report<T: serde::Serialize>(report: &T, json: bool, table: impl Fn(&T)) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        table(report);
    }
    Ok(())
}
