//! Test harness: starts the real `vigia` binary (and real Prometheus components) on loopback
//! with ephemeral ports and temporary directories.
#![allow(clippy::disallowed_methods)] // tests read answers of servers they started on loopback
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// True when real components must be present (CI).
pub fn require_real() -> bool {
    std::env::var("VIGIA_REQUIRE_REAL").is_ok_and(|v| v == "1")
}

/// Finds a Debian-packaged binary, or skips (fails under VIGIA_REQUIRE_REAL=1).
pub fn real_binary(name: &str) -> Option<PathBuf> {
    for dir in ["/usr/bin", "/usr/sbin", "/usr/local/bin"] {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return Some(p);
        }
    }
    if require_real() {
        panic!(
            "{name} is not installed and VIGIA_REQUIRE_REAL=1 (apt-get install the Debian package)"
        );
    }
    eprintln!(
        "SKIP: {name} is not installed (Debian package); set VIGIA_REQUIRE_REAL=1 to make this a failure"
    );
    None
}

/// A free TCP port on 127.0.0.1 (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// A blocking HTTP client.
pub fn client() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A running vigia server.
pub struct Vigia {
    pub child: Child,
    pub url: String,
    pub data_dir: PathBuf,
    pub log: PathBuf,
    /// What the server printed on stdout before it listened.
    pub banner: Vec<String>,
}

impl Vigia {
    /// Starts `vigia serve` with `extra` flags in `data_dir`; waits until it listens.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Vigia {
        Self::start_env(data_dir, extra, &[])
    }

    /// Like [`Vigia::start`] with environment variables.
    pub fn start_env(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Vigia {
        let log = data_dir.with_extension("log");
        let logf = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vigia"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::from(logf))
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut url = None;
        let mut banner = Vec::new();
        while Instant::now() < deadline {
            match lines.next() {
                Some(Ok(l)) => {
                    if let Some(u) = l.strip_prefix("vigia listening on ") {
                        url = Some(u.trim().to_string());
                        break;
                    }
                    banner.push(l);
                }
                _ => break,
            }
        }
        let Some(url) = url else {
            let _ = child.kill();
            panic!(
                "vigia did not start; log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Vigia {
            child,
            url,
            data_dir: data_dir.to_path_buf(),
            log,
            banner,
        }
    }

    /// Sends a signal to the process.
    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status();
    }

    /// SIGTERM and wait; returns the exit code.
    pub fn stop(mut self) -> Option<i32> {
        self.signal("TERM");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        None
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// GET a Prometheus API path and return the parsed JSON body and status.
    pub fn get_json(&self, path_and_query: &str) -> (u16, serde_json::Value) {
        let r = client()
            .get(format!("{}{}", self.url, path_and_query))
            .send()
            .unwrap();
        let code = r.status().as_u16();
        (code, r.json().unwrap_or(serde_json::Value::Null))
    }
}

impl Drop for Vigia {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A child process killed on drop.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `f` until it returns Some or the deadline passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// One HTTP request a [`Sink`] received.
#[derive(Debug, Clone)]
#[allow(dead_code)]
pub struct Recorded {
    /// Method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

#[allow(dead_code)]
impl Recorded {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// A loopback HTTP server that records every request and answers 200 `{}` (a stand-in for a
/// webhook receiver, never for a component under test).
#[allow(dead_code)]
pub struct Sink {
    /// `http://127.0.0.1:port`.
    pub url: String,
    got: std::sync::Arc<std::sync::Mutex<Vec<Recorded>>>,
}

#[allow(dead_code)]
impl Sink {
    /// Starts the sink on an ephemeral port.
    pub fn start() -> Sink {
        Self::start_on(0)
    }

    /// Starts the sink on `port` (0: ephemeral).
    pub fn start_on(port: u16) -> Sink {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let store = got.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let store = store.clone();
                std::thread::spawn(move || {
                    let Ok(read_half) = conn.try_clone() else {
                        return;
                    };
                    let mut r = BufReader::new(read_half);
                    loop {
                        let mut line = String::new();
                        if r.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let mut parts = line.split_whitespace();
                        let method = parts.next().unwrap_or("").to_string();
                        let path = parts.next().unwrap_or("").to_string();
                        let mut headers = Vec::new();
                        let mut len = 0usize;
                        loop {
                            let mut h = String::new();
                            if r.read_line(&mut h).unwrap_or(0) == 0 {
                                return;
                            }
                            let h = h.trim_end();
                            if h.is_empty() {
                                break;
                            }
                            if let Some((k, v)) = h.split_once(':') {
                                let k = k.trim().to_ascii_lowercase();
                                if k == "content-length" {
                                    len = v.trim().parse().unwrap_or(0);
                                }
                                headers.push((k, v.trim().to_string()));
                            }
                        }
                        let mut body = vec![0u8; len];
                        if r.read_exact(&mut body).is_err() {
                            return;
                        }
                        store.lock().unwrap().push(Recorded {
                            method,
                            path,
                            headers,
                            body,
                        });
                        let resp = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
                        if conn.write_all(resp.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Sink { url, got }
    }

    /// Everything received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.got.lock().unwrap().clone()
    }

    /// Requests whose path starts with `prefix`.
    pub fn at(&self, prefix: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.starts_with(prefix))
            .collect()
    }
}
