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
    let mut args_left = args.iter();
    while let Some(&ch) = c.get(i) {
        i += 1;
        if ch != '%' {
            out.push(ch);
            continue;
        }
        let spec = match Spec::parse(&c, &mut i) {
            Ok(spec) => spec,
            Err(bad) => {
                out.push_str(bad);
                if bad == "%!(NOVERB)" {
                    break;
                }
                continue;
            }
        };
        if spec.verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args_left.next() else {
            let _ = write!(out, "%!{}(MISSING)", spec.verb);
            continue;
        };
        out.push_str(&spec.format(arg, cx));
    }
    let extra: Vec<String> = args_left
        .map(|a| format!("{}={}", type_name(a), cx.print(a)))
        .collect();
    if !extra.is_empty() {
        let _ = write!(out, "%!(EXTRA {})", extra.join(", "));
    }
    out
}

/// Go stops formatting at a width or precision above this (`%!(NOVERB)`).
const MAX_WIDTH: usize = 1_000_000;

/// One `%` directive: flags, width, precision and verb.
struct Spec {
    minus: bool,
    plus: bool,
    zero: bool,
    space: bool,
    width: Option<usize>,
    prec: Option<usize>,
    verb: char,
}

impl Spec {
    /// Reads the directive after a `%` at `c[*i]`; `Err` is the text Go prints instead.
    fn parse(c: &[char], i: &mut usize) -> Result<Spec, &'static str> {
        let (mut minus, mut plus, mut zero, mut space) = (false, false, false, false);
        while let Some(&f) = c.get(*i) {
            match f {
                '-' => minus = true,
                '+' => plus = true,
                '0' => zero = true,
                ' ' => space = true,
                '#' => {}
                _ => break,
            }
            *i += 1;
        }
        let width = digits(c, i);
        let prec = if c.get(*i) == Some(&'.') {
            *i += 1;
            Some(digits(c, i).unwrap_or(0))
        } else {
            None
        };
        // Go gives up on the rest of the format when a number is too large.
        if width.is_some_and(|w| w > MAX_WIDTH) || prec.is_some_and(|p| p > MAX_WIDTH) {
            return Err("%!(NOVERB)");
        }
        let verb = *c.get(*i).ok_or("%!(NOVERB)")?;
        *i += 1;
        Ok(Spec {
            minus,
            plus,
            zero,
            space,
            width,
            prec,
            verb,
        })
    }

    /// Formats one argument: the verb, then sign flags and padding.
    fn format(&self, arg: &Val, cx: &Cx<'_, '_>) -> String {
        let num = match arg {
            Val::Num(n) => Some(*n),
            _ => None,
        };
        let mut s = self
            .verb_text(arg, num, cx)
            .unwrap_or_else(|| format!("%!{}({}={})", self.verb, type_name(arg), cx.print(arg)));
        if let Some(n) = num
            && matches!(self.verb, 'd' | 'f' | 'F' | 'e' | 'g')
            && n >= 0.0
        {
            if self.plus {
                s.insert(0, '+');
            } else if self.space {
                s.insert(0, ' ');
            }
        }
        self.pad(s, num.is_some())
    }

    /// The verb applied to the argument; `None` when the verb does not fit its type.
    fn verb_text(&self, arg: &Val, num: Option<f64>, cx: &Cx<'_, '_>) -> Option<String> {
        let whole = num.filter(|n| n.fract() == 0.0 && n.is_finite());
        Some(match self.verb {
            'v' => cx.print(arg),
            's' => {
                let s = cx.print(arg);
                match self.prec {
                    Some(p) => s.chars().take(p).collect(),
                    None => s,
                }
            }
            'q' => format!("{:?}", cx.print(arg)),
            't' => match arg {
                Val::Bool(b) => b.to_string(),
                _ => return None,
            },
            'd' => format!("{}", whole? as i64),
            'x' | 'X' => {
                let s = match (whole, arg) {
                    (Some(n), _) => format!("{:x}", n as i64),
                    (_, Val::Str(t)) => t.bytes().map(|b| format!("{b:02x}")).collect(),
                    _ => return None,
                };
                if self.verb == 'X' {
                    s.to_uppercase()
                } else {
                    s
                }
            }
            'f' | 'F' => match num? {
                n if n.is_finite() => format!("{:.*}", self.prec.unwrap_or(6), n),
                n => go_float(n),
            },
            'e' => match num? {
                n if n.is_finite() => {
                    let e = format!("{:.*e}", self.prec.unwrap_or(6), n);
                    match e.split_once('e') {
                        Some((m, x)) => go_exp(m, x.parse().unwrap_or(0)),
                        None => e,
                    }
                }
                n => go_float(n),
            },
            'g' => match self.prec {
                Some(p) => fmt_g(num?, p),
                None => go_float(num?),
            },
            _ => return None,
        })
    }

    /// Pads to the width: left-justified with `-`, zeros after the sign with `0` for numbers.
    fn pad(&self, s: String, numeric: bool) -> String {
        let len = s.chars().count();
        let Some(pad) = self
            .width
            .and_then(|w| w.checked_sub(len))
            .filter(|p| *p > 0)
        else {
            return s;
        };
        if self.minus {
            format!("{s}{}", " ".repeat(pad))
        } else if self.zero && numeric {
            let (sign, rest) = if s.starts_with(['-', '+']) {
                s.split_at(1)
            } else {
                ("", s.as_str())
            };
            format!("{sign}{}{rest}", "0".repeat(pad))
        } else {
            format!("{}{s}", " ".repeat(pad))
        }
    }
}

/// Reads a run of decimal digits at `c[*i]` (`None` when there is none; saturates on overflow).
fn digits(c: &[char], i: &mut usize) -> Option<usize> {
    let start = *i;
    let mut n: usize = 0;
    while let Some(d) = c.get(*i).and_then(|ch| ch.to_digit(10)) {
        n = n.saturating_mul(10).saturating_add(d as usize);
        *i += 1;
    }
    (*i > start).then_some(n)
}
