//! Numbers as Go and Prometheus print and parse them, shared by the API (sample values), PromQL
//! (label values it creates), templates (`%v`, `humanize`) and tools, so every place prints
//! `NaN`, `+Inf` and exponents the same way.

/// A sample value as Prometheus's API and text formats print it (Go's
/// `strconv.FormatFloat(v, 'f', -1, 64)` for finite values; `NaN`, `+Inf`, `-Inf`).
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

/// Go's `%v` of a float64 (shortest representation, exponent form below 1e-4 and from 1e6).
pub fn go_float(v: f64) -> String {
    if !v.is_finite() {
        return format_value(v);
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let e = format!("{v:e}");
    let Some((mant, exp)) = e.split_once('e') else {
        return e;
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        go_exp(mant, exp)
    } else {
        format!("{v}")
    }
}

/// A mantissa and a decimal exponent as Go prints them (`1.5e+07`, two exponent digits at least).
pub fn go_exp(mant: &str, exp: i32) -> String {
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mant}e{sign}{:02}", exp.unsigned_abs())
}

/// Go's `%.{prec}g`.
pub fn fmt_g(v: f64, prec: usize) -> String {
    if !v.is_finite() {
        return format_value(v);
    }
    let prec = prec.max(1);
    let e = format!("{:.*e}", prec - 1, v);
    let Some((mant, exp)) = e.split_once('e') else {
        return e;
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if exp < -4 || exp >= prec as i32 {
        go_exp(&trim(mant), exp)
    } else {
        let decimals = (prec as i32 - 1 - exp).max(0) as usize;
        trim(&format!("{v:.decimals$}"))
    }
}

/// Parses a float the way Go's `strconv.ParseFloat` accepts common spellings.
pub fn parse_go_float(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    match t.to_ascii_lowercase().as_str() {
        "+inf" | "inf" | "+infinity" | "infinity" => return Some(f64::INFINITY),
        "-inf" | "-infinity" => return Some(f64::NEG_INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    if t != s {
        return None;
    }
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return i64::from_str_radix(h, 16).ok().map(|v| v as f64);
    }
    t.replace('_', "").parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_formats() {
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(-f64::INFINITY), "-Inf");
        assert_eq!(format_value(0.25), "0.25");
        assert_eq!(go_float(1e6), "1e+06");
        assert_eq!(go_float(123456.0), "123456");
        assert_eq!(go_float(0.00001), "1e-05");
        assert_eq!(go_float(-0.0), "-0");
        assert_eq!(fmt_g(1234.5678, 4), "1235");
        assert_eq!(fmt_g(0.000012345, 3), "1.23e-05");
        assert_eq!(parse_go_float("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_go_float("0x1F"), Some(31.0));
        assert_eq!(parse_go_float("1_000.5"), Some(1000.5));
        assert_eq!(parse_go_float(" 1"), None);
    }
}
