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
