//! Lexing: splitting a template into text and `{{ action }}` chunks (with `{{-`/`-}}` trimming
//! and comments), and an action into tokens.

use crate::error::{TemplateError, perr};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Var(String, Vec<String>),
    Field(Vec<String>),
    Ident(String),
    Str(String),
    Num(f64),
    Bool(bool),
    Pipe,
    LParen,
    RParen,
    Assign,
    Comma,
}

pub(crate) enum Chunk {
    Text(String),
    Action(String),
}

pub(crate) fn split(src: &str) -> Result<Vec<Chunk>, TemplateError> {
    let mut out = Vec::new();
    let mut rest = src;
    let mut trim_next = false;
    while let Some(start) = rest.find("{{") {
        let mut text = rest[..start].to_string();
        if trim_next {
            text = text.trim_start().to_string();
        }
        let mut inner_start = start + 2;
        let after = &rest[inner_start..];
        if after.starts_with("- ") || after.starts_with("-\t") || after.starts_with("-\n") {
            text = text.trim_end().to_string();
            inner_start += 1;
        }
        out.push(Chunk::Text(text));
        // find closing braces outside string literals
        let bytes = rest.as_bytes();
        let mut i = inner_start;
        let mut quote: Option<u8> = None;
        let mut end = None;
        while i < bytes.len() {
            let b = bytes[i];
            match quote {
                Some(q) => {
                    if b == b'\\' && q == b'"' {
                        i += 1;
                    } else if b == q {
                        quote = None;
                    }
                }
                None => {
                    if b == b'"' || b == b'`' || b == b'\'' {
                        quote = Some(b);
                    } else if b == b'}' && bytes.get(i + 1) == Some(&b'}') {
                        end = Some(i);
                        break;
                    }
                }
            }
            i += 1;
        }
        let Some(end) = end else {
            return perr("unclosed action (missing \"}}\")");
        };
        let mut inner = &rest[inner_start..end];
        trim_next = false;
        let t = inner.trim_end();
        if t.ends_with(" -") || t.ends_with("\t-") || t.ends_with("\n-") {
            trim_next = true;
            inner = &t[..t.len() - 1];
        }
        out.push(Chunk::Action(inner.trim().to_string()));
        rest = &rest[end + 2..];
    }
    let mut text = rest.to_string();
    if trim_next {
        text = text.trim_start().to_string();
    }
    out.push(Chunk::Text(text));
    Ok(out)
}

pub(crate) fn lex(s: &str) -> Result<Vec<Tok>, TemplateError> {
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let fields = |c: &[char], i: &mut usize| -> Vec<String> {
        let mut f = Vec::new();
        while *i < c.len() && c[*i] == '.' {
            *i += 1;
            let st = *i;
            while *i < c.len() && ident(c[*i]) {
                *i += 1;
            }
            if *i > st {
                f.push(c[st..*i].iter().collect());
            }
        }
        f
    };
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '|' {
            out.push(Tok::Pipe);
            i += 1;
        } else if ch == '(' {
            out.push(Tok::LParen);
            i += 1;
        } else if ch == ')' {
            out.push(Tok::RParen);
            i += 1;
        } else if ch == ',' {
            out.push(Tok::Comma);
            i += 1;
        } else if ch == ':' && c.get(i + 1) == Some(&'=') {
            out.push(Tok::Assign);
            i += 2;
        } else if ch == '=' {
            out.push(Tok::Assign);
            i += 1;
        } else if ch == '$' {
            i += 1;
            let st = i;
            while i < c.len() && ident(c[i]) {
                i += 1;
            }
            let name: String = c[st..i].iter().collect();
            let f = fields(&c, &mut i);
            out.push(Tok::Var(name, f));
        } else if ch == '.' {
            if c.get(i + 1).is_some_and(|d| d.is_ascii_digit()) {
                let st = i;
                i += 1;
                while i < c.len() && (c[i].is_ascii_alphanumeric() || c[i] == '.') {
                    i += 1;
                }
                let t: String = c[st..i].iter().collect();
                out.push(Tok::Num(parse_num(&t)?));
            } else {
                let f = fields(&c, &mut i);
                out.push(Tok::Field(f));
            }
        } else if ch == '"' {
            i += 1;
            let mut s = String::new();
            loop {
                let Some(&d) = c.get(i) else {
                    return perr("unterminated quoted string");
                };
                i += 1;
                match d {
                    '"' => break,
                    '\\' => {
                        let Some(&e) = c.get(i) else {
                            return perr("unterminated quoted string");
                        };
                        i += 1;
                        s.push(match e {
                            'n' => '\n',
                            't' => '\t',
                            'r' => '\r',
                            '\\' => '\\',
                            '"' => '"',
                            other => return perr(format!("unknown escape sequence \\{other}")),
                        });
                    }
                    d => s.push(d),
                }
            }
            out.push(Tok::Str(s));
        } else if ch == '`' {
            i += 1;
            let st = i;
            while i < c.len() && c[i] != '`' {
                i += 1;
            }
            if i >= c.len() {
                return perr("unterminated raw quoted string");
            }
            out.push(Tok::Str(c[st..i].iter().collect()));
            i += 1;
        } else if ch.is_ascii_digit() || ch == '-' || ch == '+' {
            let st = i;
            i += 1;
            while i < c.len()
                && (c[i].is_ascii_alphanumeric()
                    || c[i] == '.'
                    || ((c[i] == '-' || c[i] == '+') && matches!(c[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            let t: String = c[st..i].iter().collect();
            out.push(Tok::Num(parse_num(&t)?));
        } else if ident(ch) {
            let st = i;
            while i < c.len() && ident(c[i]) {
                i += 1;
            }
            let w: String = c[st..i].iter().collect();
            out.push(match w.as_str() {
                "true" => Tok::Bool(true),
                "false" => Tok::Bool(false),
                "nil" => Tok::Ident("nil".into()),
                _ => Tok::Ident(w),
            });
        } else {
            return perr(format!("unexpected {ch:?} in action"));
        }
    }
    Ok(out)
}

pub(crate) fn parse_num(t: &str) -> Result<f64, TemplateError> {
    let t2 = t.replace('_', "");
    if let Some(h) = t2.strip_prefix("0x") {
        return i64::from_str_radix(h, 16)
            .map(|v| v as f64)
            .map_err(|_| TemplateError::Parse(format!("bad number syntax: {t:?}")));
    }
    t2.parse::<f64>()
        .map_err(|_| TemplateError::Parse(format!("bad number syntax: {t:?}")))
}
