//! Email through a real SMTP server (Debian `python3-aiosmtpd`, writing a maildir): envelope
//! recipients, subject, custom headers, and both the text and the HTML part. Skipped with a
//! message when aiosmtpd is missing; fails then when VIGIA_REQUIRE_REAL=1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use tokio::runtime::Handle;
use vigia_receivers::{Escalation, GlobalConfig, NotifySettings, Outbox, ReceiverConfig, Status};

fn aiosmtpd_available() -> bool {
    Command::new("/usr/bin/python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

struct Smtpd(Child);

impl Drop for Smtpd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn messages(maildir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        if let Ok(rd) = std::fs::read_dir(maildir.join(sub)) {
            for e in rd.flatten() {
                out.push(std::fs::read_to_string(e.path()).unwrap());
            }
        }
    }
    out
}

/// Undoes quoted-printable soft line breaks and `=XX` escapes (enough for ASCII checks).
fn unqp(s: &str) -> String {
    let s = s.replace("=\r\n", "").replace("=\n", "");
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'='
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_reaches_a_real_smtp_server() {
    if !aiosmtpd_available() {
        assert!(
            std::env::var("VIGIA_REQUIRE_REAL").as_deref() != Ok("1"),
            "python3-aiosmtpd is required (VIGIA_REQUIRE_REAL=1)"
        );
        println!("SKIP email_reaches_a_real_smtp_server: python3 aiosmtpd is not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let maildir = tmp.path().join("mail");
    let port = free_port();
    let _smtpd = Smtpd(
        Command::new("/usr/bin/python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
                maildir.to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until("smtpd listening", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    })
    .await;

    let global: GlobalConfig = yaml(&format!(
        "smtp_smarthost: 127.0.0.1:{port}\nsmtp_from: vigia@example.org\nsmtp_require_tls: false\nsmtp_hello: vigia.test\n"
    ));
    let receivers: Vec<ReceiverConfig> = yaml(
        r#"
- name: mail
  email_configs:
    - to: ops@example.org, lead@example.org
      headers: {X-Campaign: webinar}
"#,
    );
    let (cb, reports) = collector();
    let ob = Outbox::open(
        tmp.path().join("outbox"),
        NotifySettings::default(),
        receivers,
        global,
        cb,
        Handle::current(),
    )
    .unwrap();
    let mut n = notification("mail", "LowRegistrations", 2, Status::Firing);
    n.escalation = Some(Escalation {
        level: 1,
        severity: "critical".into(),
        policy: "campaign".into(),
    });
    ob.enqueue(n).unwrap();
    // resolved email is not sent: send_resolved defaults to false for email
    ob.enqueue(notification(
        "mail",
        "LowRegistrations",
        2,
        Status::Resolved,
    ))
    .unwrap();
    wait_until("delivery report", || {
        reports.lock().unwrap().iter().any(|r| r.done)
    })
    .await;
    let reps = reports.lock().unwrap().clone();
    assert!(reps[0].ok, "{reps:?}");
    wait_until("the message file", || !messages(&maildir).is_empty()).await;
    let msgs = messages(&maildir);
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    let rcpt = m
        .lines()
        .find(|l| l.starts_with("X-RcptTo:"))
        .expect("aiosmtpd records the envelope recipients");
    assert!(
        rcpt.contains("ops@example.org") && rcpt.contains("lead@example.org"),
        "{rcpt}"
    );
    assert!(m.contains("From: vigia@example.org"), "{m}");
    assert!(
        m.contains("Subject: ESCALATED (level 1) [FIRING:2] LowRegistrations (high)"),
        "{m}"
    );
    assert!(m.contains("X-Campaign: webinar"));
    assert!(m.contains("multipart/alternative"));
    assert!(m.contains("Content-Type: text/plain"));
    assert!(m.contains("Content-Type: text/html"));
    let body = unqp(m);
    assert!(body.contains("2 alert(s) firing"), "{body}");
    assert!(body.contains("instance = host1"));
    assert!(body.contains("<h2 style=\"color: #e45959\">ESCALATED (level 1) [FIRING:2]"));
    assert!(body.contains("Escalated to level 1 (severity critical, policy campaign)"));
    ob.shutdown().await;
}

/// Starts aiosmtpd with `extra` arguments on `port`; returns the process guard.
fn start_smtpd(maildir: &Path, port: u16, extra: &[&str]) -> Smtpd {
    let mut args: Vec<String> = vec![
        "-m".into(),
        "aiosmtpd".into(),
        "-n".into(),
        "-l".into(),
        format!("127.0.0.1:{port}"),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend([
        "-c".into(),
        "aiosmtpd.handlers.Mailbox".into(),
        maildir.display().to_string(),
    ]);
    Smtpd(
        Command::new("/usr/bin/python3")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn make_cert(dir: &Path) -> Option<(String, String)> {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let ok = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| (cert.display().to_string(), key.display().to_string()))
}

/// Sends one firing notification through an email receiver with `email_extra` settings
/// (YAML flow-map entries) to `port`; returns the final report.
async fn send_one(dir: &Path, port: u16, email_extra: &str) -> vigia_receivers::DeliveryReport {
    let global: GlobalConfig = yaml(&format!(
        "smtp_smarthost: localhost:{port}\nsmtp_from: vigia@example.org\n"
    ));
    let receivers: Vec<ReceiverConfig> = yaml(&format!(
        "- name: mail\n  email_configs:\n    - {{to: ops@example.org, {email_extra}}}\n"
    ));
    let settings: NotifySettings = yaml("retry: {max_attempts: 1}");
    let (cb, reports) = collector();
    let ob = Outbox::open(
        dir.join(format!("outbox-{port}-{}", email_extra.len())),
        settings,
        receivers,
        global,
        cb,
        Handle::current(),
    )
    .unwrap();
    ob.enqueue(notification("mail", "Tls", 1, Status::Firing))
        .unwrap();
    wait_until("final report", || {
        reports.lock().unwrap().iter().any(|r| r.done)
    })
    .await;
    ob.shutdown().await;
    reports.lock().unwrap()[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_over_starttls_and_smtps() {
    if !aiosmtpd_available() {
        assert!(
            std::env::var("VIGIA_REQUIRE_REAL").as_deref() != Ok("1"),
            "python3-aiosmtpd is required (VIGIA_REQUIRE_REAL=1)"
        );
        println!("SKIP email_over_starttls_and_smtps: python3 aiosmtpd is not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let Some((cert, key)) = make_cert(tmp.path()) else {
        assert!(
            std::env::var("VIGIA_REQUIRE_REAL").as_deref() != Ok("1"),
            "openssl is required (VIGIA_REQUIRE_REAL=1)"
        );
        println!("SKIP email_over_starttls_and_smtps: openssl is not available");
        return;
    };

    // STARTTLS server that refuses mail before STARTTLS.
    let maildir = tmp.path().join("starttls");
    let port = free_port();
    let _s = start_smtpd(&maildir, port, &["--tlscert", &cert, "--tlskey", &key]);
    wait_until("smtpd", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    })
    .await;

    // require_tls (the default) with an untrusted certificate: refused, nothing delivered.
    let r = send_one(tmp.path(), port, "require_tls: true").await;
    assert!(!r.ok, "an unverified certificate must fail: {r:?}");
    println!("untrusted certificate: {:?}", r.error);
    assert!(messages(&maildir).is_empty());
    // Trusting it: delivered over STARTTLS.
    let r = send_one(
        tmp.path(),
        port,
        "require_tls: true, tls_config: {insecure_skip_verify: true}",
    )
    .await;
    assert!(r.ok, "{r:?}");
    wait_until("STARTTLS message", || messages(&maildir).len() == 1).await;
    assert!(messages(&maildir)[0].contains("Subject: [FIRING:1] Tls (high)"));

    // require_tls against a server without STARTTLS: no downgrade to plain text.
    let plain_dir = tmp.path().join("plain");
    let plain_port = free_port();
    let _p = start_smtpd(&plain_dir, plain_port, &[]);
    wait_until("plain smtpd", || {
        std::net::TcpStream::connect(("127.0.0.1", plain_port)).is_ok()
    })
    .await;
    let r = send_one(tmp.path(), plain_port, "require_tls: true").await;
    assert!(!r.ok, "{r:?}");
    assert!(messages(&plain_dir).is_empty());

    // Implicit TLS (SMTPS) is used on port 465, as in Alertmanager; binding it needs privileges.
    if std::net::TcpListener::bind("127.0.0.1:465").is_err() {
        println!("SKIP SMTPS part: cannot listen on port 465 here");
        return;
    }
    let smtps_dir = tmp.path().join("smtps");
    let _t = start_smtpd(&smtps_dir, 465, &["--smtpscert", &cert, "--smtpskey", &key]);
    wait_until("smtps", || {
        std::net::TcpStream::connect(("127.0.0.1", 465)).is_ok()
    })
    .await;
    let r = send_one(tmp.path(), 465, "tls_config: {insecure_skip_verify: true}").await;
    assert!(r.ok, "{r:?}");
    wait_until("SMTPS message", || messages(&smtps_dir).len() == 1).await;
}
