//! Number and text formatting of the template functions: Prometheus's `humanize` family and
//! Go's `fmt.Sprintf` verbs.

use crate::exec::Cx;
use crate::value::{Val, type_name};
use std::fmt::Write as _;
use vigia_model::float::{fmt_g, go_exp, go_float};

/// Prometheus's `humanize`: SI prefixes, 4 significant digits.
pub fn humanize(mut v: f64) -> String {
    if v == 0.0 || v.is_nan() || v.is_infinite() {
        return fmt_g(v, 4);
    }
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    format!("{}{prefix}", fmt_g(v, 4))
}

/// Prometheus's `humanize1024`: binary prefixes.
pub fn humanize1024(mut v: f64) -> String {
    if v.abs() <= 1.0 || v.is_nan() || v.is_infinite() {
        return fmt_g(v, 4);
    }
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", fmt_g(v, 4))
}

/// Prometheus's `humanizeDuration` of seconds.
pub fn humanize_duration(mut v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        return fmt_g(v, 4);
    }
    if v == 0.0 {
        return format!("{}s", fmt_g(v, 4));
    }
    if v.abs() >= 1.0 {
        let mut sign = "";
        if v < 0.0 {
            sign = "-";
            v = -v;
        }
        let d = v as i64;
        let (s, m, h, days) = (d % 60, (d / 60) % 60, (d / 3600) % 24, d / 86400);
        if days != 0 {
            return format!("{sign}{days}d {h}h {m}m {s}s");
        }
        if h != 0 {
            return format!("{sign}{h}h {m}m {s}s");
        }
        if m != 0 {
            return format!("{sign}{m}m {s}s");
        }
        return format!("{sign}{}s", fmt_g(v, 4));
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", fmt_g(v, 4))
}

/// Prometheus's `humanizeTimestamp`: Unix seconds as `2006-01-02 15:04:05.999999999 +0000 UTC`.
pub fn humanize_timestamp(v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        return fmt_g(v, 4);
    }
    // Like Prometheus: through model.Time, so millisecond precision.
    let ms = ((v * 1e9) as i64) / 1_000_000;
    let secs = ms.div_euclid(1000);
    let nanos = ms.rem_euclid(1000) * 1_000_000;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    let mut out = format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    );
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        let _ = write!(out, ".{}", frac.trim_end_matches('0'));
    }
    out.push_str(" +0000 UTC");
    out
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Go's `fmt.Sprintf` for the verbs templates use: `%v %s %q %d %f %e %g %x %t %%`, with
/// flags `-+ 0`, width and precision.
pub(crate) fn sprintf(fmtstr: &str, args: &[Val], cx: &Cx<'_, '_>) -> String {
    let mut out = String::new();
    let c: Vec<char> = fmtstr.chars().collect();
    let mut i = 0;
    let mut ai = 0;
    while i < c.len() {
        if c[i] != '%' {
            out.push(c[i]);
            i += 1;
            continue;
        }
        i += 1;
        let (mut minus, mut plus, mut zero, mut space) = (false, false, false, false);
        while let Some(&f) = c.get(i) {
            match f {
                '-' => minus = true,
                '+' => plus = true,
                '0' => zero = true,
                ' ' => space = true,
                '#' => {}
                _ => break,
            }
            i += 1;
        }
        let mut width = None;
        let st = i;
        while i < c.len() && c[i].is_ascii_digit() {
            i += 1;
        }
        if i > st {
            width = c[st..i].iter().collect::<String>().parse::<usize>().ok();
        }
        let mut prec = None;
        if c.get(i) == Some(&'.') {
            i += 1;
            let st = i;
            while i < c.len() && c[i].is_ascii_digit() {
                i += 1;
            }
            prec = Some(
                c[st..i]
                    .iter()
                    .collect::<String>()
                    .parse::<usize>()
                    .unwrap_or(0),
            );
        }
        let Some(&verb) = c.get(i) else {
            out.push_str("%!(NOVERB)");
            break;
        };
        i += 1;
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(ai) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        ai += 1;
        let num = match arg {
            Val::Num(n) => Some(*n),
            _ => None,
        };
        let bad = || format!("%!{verb}({}={})", type_name(arg), cx.print(arg));
        let mut s = match verb {
            'v' | 's' => {
                let mut s = cx.print(arg);
                if verb == 's'
                    && let Some(p) = prec
                {
                    s = s.chars().take(p).collect();
                }
                s
            }
            'q' => format!("{:?}", cx.print(arg)),
            't' => match arg {
                Val::Bool(b) => b.to_string(),
                _ => bad(),
            },
            'd' => match num {
                Some(n) if n.fract() == 0.0 && n.is_finite() => format!("{}", n as i64),
                _ => bad(),
            },
            'x' | 'X' => match (num, arg) {
                (Some(n), _) if n.fract() == 0.0 && n.is_finite() => {
                    let s = format!("{:x}", n as i64);
                    if verb == 'X' { s.to_uppercase() } else { s }
                }
                (_, Val::Str(t)) => t.bytes().map(|b| format!("{b:02x}")).collect(),
                _ => bad(),
            },
            'f' | 'F' => match num {
                Some(n) if n.is_finite() => format!("{:.*}", prec.unwrap_or(6), n),
                Some(n) => go_float(n),
                None => bad(),
            },
            'e' => match num {
                Some(n) if n.is_finite() => {
                    let e = format!("{:.*e}", prec.unwrap_or(6), n);
                    match e.split_once('e') {
                        Some((m, x)) => go_exp(m, x.parse().unwrap_or(0)),
                        None => e,
                    }
                }
                Some(n) => go_float(n),
                None => bad(),
            },
            'g' => match num {
                Some(n) => match prec {
                    Some(p) => fmt_g(n, p),
                    None => go_float(n),
                },
                None => bad(),
            },
            other => format!("%!{other}({}={})", type_name(arg), cx.print(arg)),
        };
        if let Some(n) = num
            && matches!(verb, 'd' | 'f' | 'F' | 'e' | 'g')
            && n >= 0.0
        {
            if plus {
                s.insert(0, '+');
            } else if space {
                s.insert(0, ' ');
            }
        }
        if let Some(w) = width {
            let len = s.chars().count();
            if len < w {
                let pad = w - len;
                if minus {
                    s.push_str(&" ".repeat(pad));
                } else if zero && num.is_some() {
                    let (sign, rest) = if s.starts_with(['-', '+']) {
                        s.split_at(1)
                    } else {
                        ("", s.as_str())
                    };
                    s = format!("{sign}{}{rest}", "0".repeat(pad));
                } else {
                    s = format!("{}{s}", " ".repeat(pad));
                }
            }
        }
        out.push_str(&s);
    }
    if ai < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[ai..]
            .iter()
            .map(|a| format!("{}={}", type_name(a), cx.print(a)))
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}
