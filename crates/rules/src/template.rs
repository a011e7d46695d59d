//! A Go text/template subset for alert labels and annotations: what Prometheus users write
//! (`{{ $labels.x }}`, `{{ $value | humanize }}`, `{{ printf "%.2f" $value }}`, `if`/`else`),
//! with Prometheus's template functions. Missing map keys expand to "" (`missingkey=zero`).
//! The supported syntax and functions are listed in the crate README.
//!
//! A second entry point renders over a generic nested data model ([`Data`]) with `{{ define }}`
//! / `{{ template "name" . }}` blocks from a [`TemplateSet`], `{{ with }}`, and Alertmanager's
//! notification-template helpers (`.Alerts.Firing`, `.Alerts.Resolved`, KV `.SortedPairs`,
//! `.Names`, `.Values`, `.Remove`, and the `join`, `stringSlice`, `trimSpace` functions); the
//! notification receivers use it for their message templates.

use regex::Regex;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A template could not be parsed or expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

fn terr<T>(m: impl Into<String>) -> Result<T, TemplateError> {
    Err(TemplateError(m.into()))
}

/// A generic template value for [`Template::render_data`] and [`TemplateSet::render`].
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// A string.
    Str(String),
    /// A number.
    Num(f64),
    /// A boolean.
    Bool(bool),
    /// A label or annotation set (Alertmanager's `KV`): missing keys are "", and it has the
    /// methods `SortedPairs` (list of `.Name`/`.Value`), `Names`, `Values` and `Remove`.
    Kv(BTreeMap<String, String>),
    /// A struct: named fields; a missing field is an error.
    Obj(BTreeMap<String, Data>),
    /// A list; a list of structs with a `Status` field also has `.Firing` and `.Resolved`.
    List(Vec<Data>),
    /// No value.
    Nil,
}

impl Data {
    fn to_val(&self) -> Val {
        match self {
            Data::Str(s) => Val::Str(s.clone()),
            Data::Num(n) => Val::Num(*n),
            Data::Bool(b) => Val::Bool(*b),
            Data::Kv(m) => Val::Kv(m.clone()),
            Data::Obj(m) => Val::Obj(m.iter().map(|(k, v)| (k.clone(), v.to_val())).collect()),
            Data::List(l) => Val::List(l.iter().map(Data::to_val).collect()),
            Data::Nil => Val::Nil,
        }
    }
}

/// What a template sees: the alert's labels and value, external labels and URL.
#[derive(Debug, Clone, Default)]
pub struct TemplateData {
    /// `$labels` / `.Labels`.
    pub labels: BTreeMap<String, String>,
    /// `$externalLabels` / `.ExternalLabels`.
    pub external_labels: BTreeMap<String, String>,
    /// `$externalURL` / `.ExternalURL`.
    pub external_url: String,
    /// `$value` / `.Value`.
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
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

#[derive(Debug, Clone)]
enum Operand {
    Var(String, Vec<String>),
    Field(Vec<String>),
    Lit(Val),
    Call(String),
    Paren(Pipeline),
}

#[derive(Debug, Clone)]
struct Command {
    func: Option<String>,
    args: Vec<Operand>,
}

#[derive(Debug, Clone)]
struct Pipeline {
    decl: Option<String>,
    cmds: Vec<Command>,
}

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Action(Pipeline),
    If(Vec<(Pipeline, Vec<Node>)>, Vec<Node>),
    Range(Option<String>, Pipeline, Vec<Node>),
    With(Pipeline, Vec<Node>, Vec<Node>),
    Call(String, Option<Pipeline>),
}

type Defs = BTreeMap<String, Vec<Node>>;

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<Node>,
    defs: Defs,
}

/// A runtime value.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Str(String),
    Num(f64),
    Bool(bool),
    Map(BTreeMap<String, String>),
    List(Vec<Val>),
    Dot,
    Nil,
    Kv(BTreeMap<String, String>),
    Obj(BTreeMap<String, Val>),
}

enum Chunk {
    Text(String),
    Action(String),
}

fn split(src: &str) -> Result<Vec<Chunk>, TemplateError> {
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
            return terr("unclosed action (missing \"}}\")");
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

fn lex(s: &str) -> Result<Vec<Tok>, TemplateError> {
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
                    return terr("unterminated quoted string");
                };
                i += 1;
                match d {
                    '"' => break,
                    '\\' => {
                        let Some(&e) = c.get(i) else {
                            return terr("unterminated quoted string");
                        };
                        i += 1;
                        s.push(match e {
                            'n' => '\n',
                            't' => '\t',
                            'r' => '\r',
                            '\\' => '\\',
                            '"' => '"',
                            other => return terr(format!("unknown escape sequence \\{other}")),
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
                return terr("unterminated raw quoted string");
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
            return terr(format!("unexpected {ch:?} in action"));
        }
    }
    Ok(out)
}

fn parse_num(t: &str) -> Result<f64, TemplateError> {
    let t2 = t.replace('_', "");
    if let Some(h) = t2.strip_prefix("0x") {
        return i64::from_str_radix(h, 16)
            .map(|v| v as f64)
            .map_err(|_| TemplateError(format!("bad number syntax: {t:?}")));
    }
    t2.parse::<f64>()
        .map_err(|_| TemplateError(format!("bad number syntax: {t:?}")))
}

struct P {
    toks: Vec<Tok>,
    pos: usize,
}

impl P {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn pipeline(&mut self, allow_decl: bool) -> Result<Pipeline, TemplateError> {
        let mut decl = None;
        if allow_decl
            && let (Some(Tok::Var(v, f)), Some(Tok::Assign)) =
                (self.toks.get(self.pos), self.toks.get(self.pos + 1))
            && f.is_empty()
        {
            decl = Some(v.clone());
            self.pos += 2;
        }
        let mut cmds = Vec::new();
        loop {
            cmds.push(self.command()?);
            if self.peek() == Some(&Tok::Pipe) {
                self.pos += 1;
            } else {
                break;
            }
        }
        Ok(Pipeline { decl, cmds })
    }
    fn command(&mut self) -> Result<Command, TemplateError> {
        let mut func = None;
        if let Some(Tok::Ident(n)) = self.peek() {
            check_func(n)?;
            func = Some(n.clone());
            self.pos += 1;
        }
        let mut args = Vec::new();
        while let Some(t) = self.peek() {
            if matches!(t, Tok::Pipe | Tok::RParen) {
                break;
            }
            args.push(self.operand()?);
        }
        if func.is_none() && args.is_empty() {
            return terr("missing value for command");
        }
        if func.is_none() && args.len() > 1 && method_name(&args[0]).is_none() {
            return terr("can't give argument to non-function");
        }
        Ok(Command { func, args })
    }
    fn operand(&mut self) -> Result<Operand, TemplateError> {
        let Some(t) = self.peek().cloned() else {
            return terr("unexpected end of action");
        };
        self.pos += 1;
        Ok(match t {
            Tok::Var(v, f) => Operand::Var(v, f),
            Tok::Field(f) => Operand::Field(f),
            Tok::Str(s) => Operand::Lit(Val::Str(s)),
            Tok::Num(n) => Operand::Lit(Val::Num(n)),
            Tok::Bool(b) => Operand::Lit(Val::Bool(b)),
            Tok::Ident(n) if n == "nil" => Operand::Lit(Val::Nil),
            Tok::Ident(n) => {
                check_func(&n)?;
                Operand::Call(n)
            }
            Tok::LParen => {
                let p = self.pipeline(false)?;
                if self.peek() != Some(&Tok::RParen) {
                    return terr("unclosed left paren");
                }
                self.pos += 1;
                Operand::Paren(p)
            }
            other => return terr(format!("unexpected {other:?} in operand")),
        })
    }
}

const FUNCS: &[&str] = &[
    "humanize",
    "humanize1024",
    "humanizePercentage",
    "humanizeDuration",
    "humanizeTimestamp",
    "printf",
    "print",
    "title",
    "toUpper",
    "toLower",
    "reReplaceAll",
    "match",
    "stripPort",
    "stripDomain",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "and",
    "or",
    "not",
    "len",
    "index",
    "html",
    "safeHtml",
    "query",
    "first",
    "label",
    "value",
    "sortByLabel",
    "join",
    "stringSlice",
    "trimSpace",
];

/// Methods callable with arguments (`.CommonLabels.Remove .GroupLabels.Names`).
const METHODS: &[&str] = &["Remove"];

fn method_name(o: &Operand) -> Option<&str> {
    let f = match o {
        Operand::Field(f) | Operand::Var(_, f) => f,
        _ => return None,
    };
    f.last().map(String::as_str).filter(|m| METHODS.contains(m))
}

fn check_func(n: &str) -> Result<(), TemplateError> {
    if FUNCS.contains(&n) {
        Ok(())
    } else {
        terr(format!("function {n:?} not defined"))
    }
}

enum Ctl {
    If(Pipeline),
    ElseIf(Pipeline),
    Else,
    End,
    Range(Option<String>, Pipeline),
    With(Pipeline),
    Define(String),
    Call(String, Option<Pipeline>),
    Plain(Pipeline),
    Comment,
}

fn parse_action(a: &str) -> Result<Ctl, TemplateError> {
    if a.starts_with("/*") {
        return if a.ends_with("*/") {
            Ok(Ctl::Comment)
        } else {
            terr("unclosed comment")
        };
    }
    let toks = lex(a)?;
    let head = match toks.first() {
        Some(Tok::Ident(w)) => w.as_str(),
        None => return terr("missing value for command"),
        _ => "",
    };
    let mk = |from: usize, decl: bool| -> Result<Pipeline, TemplateError> {
        let mut p = P {
            toks: toks.get(from..).unwrap_or(&[]).to_vec(),
            pos: 0,
        };
        let pl = p.pipeline(decl)?;
        if p.pos != p.toks.len() {
            return terr(format!("unexpected {:?} in action", p.toks[p.pos]));
        }
        Ok(pl)
    };
    match head {
        "if" => Ok(Ctl::If(mk(1, false)?)),
        "else" => match toks.get(1) {
            None => Ok(Ctl::Else),
            Some(Tok::Ident(w)) if w == "if" => Ok(Ctl::ElseIf(mk(2, false)?)),
            _ => terr("unexpected tokens after else"),
        },
        "end" if toks.len() == 1 => Ok(Ctl::End),
        "range" => {
            // range $x := pipeline | range $i, $x := pipeline | range pipeline
            let (var, from) = match (toks.get(1), toks.get(2), toks.get(3), toks.get(4)) {
                (
                    Some(Tok::Var(_, _)),
                    Some(Tok::Comma),
                    Some(Tok::Var(v, _)),
                    Some(Tok::Assign),
                ) => (Some(v.clone()), 5),
                (Some(Tok::Var(v, _)), Some(Tok::Assign), _, _) => (Some(v.clone()), 3),
                _ => (None, 1),
            };
            Ok(Ctl::Range(var, mk(from, false)?))
        }
        "with" => Ok(Ctl::With(mk(1, false)?)),
        "define" | "template" => {
            let Some(Tok::Str(name)) = toks.get(1) else {
                return terr(format!("{head} needs a quoted template name"));
            };
            if head == "define" {
                if toks.len() != 2 {
                    return terr("unexpected tokens after define name");
                }
                Ok(Ctl::Define(name.clone()))
            } else if toks.len() == 2 {
                Ok(Ctl::Call(name.clone(), None))
            } else {
                Ok(Ctl::Call(name.clone(), Some(mk(2, false)?)))
            }
        }
        "block" | "break" | "continue" => terr(format!("{head:?} is not supported")),
        _ => Ok(Ctl::Plain(mk(0, true)?)),
    }
}

enum Stop {
    Eof,
    Else,
    ElseIf(Pipeline),
    End,
}

fn parse_nodes(
    chunks: &mut std::iter::Peekable<std::vec::IntoIter<Chunk>>,
    defs: &mut Defs,
) -> Result<(Vec<Node>, Stop), TemplateError> {
    let mut nodes = Vec::new();
    while let Some(c) = chunks.next() {
        match c {
            Chunk::Text(t) => {
                if !t.is_empty() {
                    nodes.push(Node::Text(t));
                }
            }
            Chunk::Action(a) => match parse_action(&a)? {
                Ctl::Comment => {}
                Ctl::Plain(p) => nodes.push(Node::Action(p)),
                Ctl::End => return Ok((nodes, Stop::End)),
                Ctl::Else => return Ok((nodes, Stop::Else)),
                Ctl::ElseIf(p) => return Ok((nodes, Stop::ElseIf(p))),
                Ctl::If(p) => {
                    let mut branches = Vec::new();
                    let mut cond = p;
                    let else_body;
                    loop {
                        let (body, stop) = parse_nodes(chunks, defs)?;
                        branches.push((cond, body));
                        match stop {
                            Stop::End => {
                                else_body = Vec::new();
                                break;
                            }
                            Stop::ElseIf(p2) => cond = p2,
                            Stop::Else => {
                                let (body, stop) = parse_nodes(chunks, defs)?;
                                if !matches!(stop, Stop::End) {
                                    return terr("expected {{end}} after {{else}}");
                                }
                                else_body = body;
                                break;
                            }
                            Stop::Eof => return terr("unexpected EOF: missing {{end}}"),
                        }
                    }
                    nodes.push(Node::If(branches, else_body));
                }
                Ctl::With(p) => {
                    let (body, stop) = parse_nodes(chunks, defs)?;
                    let else_body = match stop {
                        Stop::End => Vec::new(),
                        Stop::Else => {
                            let (b, stop) = parse_nodes(chunks, defs)?;
                            if !matches!(stop, Stop::End) {
                                return terr("expected {{end}} after {{else}}");
                            }
                            b
                        }
                        _ => return terr("with without {{end}}"),
                    };
                    nodes.push(Node::With(p, body, else_body));
                }
                Ctl::Define(name) => {
                    let (body, stop) = parse_nodes(chunks, defs)?;
                    if !matches!(stop, Stop::End) {
                        return terr(format!("define {name:?} without {{{{end}}}}"));
                    }
                    defs.insert(name, body);
                }
                Ctl::Call(name, p) => nodes.push(Node::Call(name, p)),
                Ctl::Range(v, p) => {
                    let (body, stop) = parse_nodes(chunks, defs)?;
                    if !matches!(stop, Stop::End) {
                        return terr("range without {{end}}");
                    }
                    nodes.push(Node::Range(v, p, body));
                }
            },
        }
    }
    Ok((nodes, Stop::Eof))
}

/// The answer of the `query` template function: (labels, value) pairs.
pub type QueryResult = Vec<(BTreeMap<String, String>, f64)>;

/// A function that answers `query "…"` inside templates.
pub type QueryFn<'a> = &'a dyn Fn(&str) -> Result<QueryResult, String>;

impl Template {
    /// Parses a template.
    pub fn parse(src: &str) -> Result<Template, TemplateError> {
        let mut chunks = split(src)?.into_iter().peekable();
        let mut defs = Defs::new();
        let (nodes, stop) = parse_nodes(&mut chunks, &mut defs)?;
        match stop {
            Stop::Eof => Ok(Template { nodes, defs }),
            Stop::End => terr("unexpected {{end}}"),
            Stop::Else | Stop::ElseIf(_) => terr("unexpected {{else}}"),
        }
    }

    /// Expands the template (no `query` function available).
    pub fn render(&self, data: &TemplateData) -> Result<String, TemplateError> {
        self.render_with(data, None)
    }

    /// Expands the template; `query` answers the `query` template function.
    pub fn render_with(
        &self,
        data: &TemplateData,
        query: Option<QueryFn<'_>>,
    ) -> Result<String, TemplateError> {
        let mut vars: Vec<(String, Val)> = vec![
            ("labels".into(), Val::Map(data.labels.clone())),
            (
                "externalLabels".into(),
                Val::Map(data.external_labels.clone()),
            ),
            ("externalURL".into(), Val::Str(data.external_url.clone())),
            ("value".into(), Val::Num(data.value)),
            (String::new(), Val::Dot),
        ];
        let mut out = String::new();
        let empty = Defs::new();
        let cx = Cx {
            data,
            query,
            defs: [&self.defs, &empty],
            depth: std::cell::Cell::new(0),
        };
        cx.exec(&self.nodes, &Val::Dot, &mut vars, &mut out)?;
        Ok(out)
    }

    /// Expands the template over generic data (`.` and `$` are `data`), with only its own
    /// `{{ define }}` blocks.
    pub fn render_data(&self, data: &Data) -> Result<String, TemplateError> {
        self.render_in(data, &Defs::new())
    }

    fn render_in(&self, data: &Data, shared: &Defs) -> Result<String, TemplateError> {
        let root = data.to_val();
        let mut vars: Vec<(String, Val)> = vec![(String::new(), root.clone())];
        let mut out = String::new();
        let td = TemplateData::default();
        let cx = Cx {
            data: &td,
            query: None,
            defs: [&self.defs, shared],
            depth: std::cell::Cell::new(0),
        };
        cx.exec(&self.nodes, &root, &mut vars, &mut out)?;
        Ok(out)
    }
}

/// Named templates (`{{ define "name" }}…{{ end }}` blocks, e.g. from Alertmanager `templates:`
/// files) that templates rendered through [`TemplateSet::render`] can call with
/// `{{ template "name" . }}`.
#[derive(Debug, Clone, Default)]
pub struct TemplateSet {
    defs: Defs,
}

impl TemplateSet {
    /// An empty set.
    pub fn new() -> Self {
        TemplateSet::default()
    }

    /// Parses a templates file and adds its `define` blocks (a later definition of a name
    /// replaces an earlier one); text outside the blocks is ignored.
    pub fn add(&mut self, src: &str) -> Result<(), TemplateError> {
        let t = Template::parse(src)?;
        self.defs.extend(t.defs);
        Ok(())
    }

    /// Names of the defined templates.
    pub fn names(&self) -> Vec<String> {
        self.defs.keys().cloned().collect()
    }

    /// Parses `src` and expands it over `data` with this set's named templates.
    pub fn render(&self, src: &str, data: &Data) -> Result<String, TemplateError> {
        Template::parse(src)?.render_in(data, &self.defs)
    }

    /// Expands the named template `name` over `data`.
    pub fn execute(&self, name: &str, data: &Data) -> Result<String, TemplateError> {
        self.render(&format!("{{{{ template {name:?} . }}}}"), data)
    }
}

/// Maximum nesting of `{{ template }}` calls (guards against recursive definitions).
const MAX_TEMPLATE_DEPTH: usize = 64;

/// Parses and expands `src` in one go; on error returns Prometheus's
/// `<error expanding template: …>` text instead, as Prometheus does.
pub fn expand(src: &str, data: &TemplateData, query: Option<QueryFn<'_>>) -> String {
    match Template::parse(src).and_then(|t| t.render_with(data, query)) {
        Ok(s) => s,
        Err(e) => format!("<error expanding template: {e}>"),
    }
}

struct Cx<'a, 'q> {
    data: &'a TemplateData,
    query: Option<QueryFn<'q>>,
    /// Template-local definitions first, then the shared set's.
    defs: [&'a Defs; 2],
    depth: std::cell::Cell<usize>,
}

impl Cx<'_, '_> {
    fn exec(
        &self,
        nodes: &[Node],
        dot: &Val,
        vars: &mut Vec<(String, Val)>,
        out: &mut String,
    ) -> Result<(), TemplateError> {
        for n in nodes {
            match n {
                Node::Text(t) => out.push_str(t),
                Node::Action(p) => {
                    let v = self.pipeline(p, dot, vars)?;
                    if let Some(d) = &p.decl {
                        vars.push((d.clone(), v));
                    } else {
                        out.push_str(&self.print(&v));
                    }
                }
                Node::If(branches, else_body) => {
                    let mut done = false;
                    for (cond, body) in branches {
                        if truthy(&self.pipeline(cond, dot, vars)?) {
                            let mark = vars.len();
                            self.exec(body, dot, vars, out)?;
                            vars.truncate(mark);
                            done = true;
                            break;
                        }
                    }
                    if !done {
                        let mark = vars.len();
                        self.exec(else_body, dot, vars, out)?;
                        vars.truncate(mark);
                    }
                }
                Node::With(p, body, else_body) => {
                    let v = self.pipeline(p, dot, vars)?;
                    let mark = vars.len();
                    if truthy(&v) {
                        self.exec(body, &v, vars, out)?;
                    } else {
                        self.exec(else_body, dot, vars, out)?;
                    }
                    vars.truncate(mark);
                }
                Node::Call(name, p) => {
                    let Some(body) = self.defs.iter().find_map(|d| d.get(name)) else {
                        return terr(format!("no such template {name:?}"));
                    };
                    let arg = match p {
                        Some(p) => self.pipeline(p, dot, vars)?,
                        None => Val::Nil,
                    };
                    let depth = self.depth.get();
                    if depth >= MAX_TEMPLATE_DEPTH {
                        return terr(format!(
                            "template {name:?}: exceeded maximum template depth ({MAX_TEMPLATE_DEPTH})"
                        ));
                    }
                    self.depth.set(depth + 1);
                    // A called template sees only its argument (as `.` and `$`).
                    let mut inner_vars = vec![(String::new(), arg.clone())];
                    let r = self.exec(body, &arg, &mut inner_vars, out);
                    self.depth.set(depth);
                    r?;
                }
                Node::Range(var, p, body) => {
                    let items = match self.pipeline(p, dot, vars)? {
                        Val::List(l) => l,
                        Val::Map(m) | Val::Kv(m) => m.into_values().map(Val::Str).collect(),
                        Val::Obj(m) => m.into_values().collect(),
                        Val::Nil => Vec::new(),
                        other => return terr(format!("range can't iterate over {other:?}")),
                    };
                    for it in items {
                        let mark = vars.len();
                        if let Some(v) = var {
                            vars.push((v.clone(), it.clone()));
                        }
                        self.exec(body, &it, vars, out)?;
                        vars.truncate(mark);
                    }
                }
            }
        }
        Ok(())
    }

    fn print(&self, v: &Val) -> String {
        match v {
            Val::Str(s) => s.clone(),
            Val::Num(n) => go_float(*n),
            Val::Bool(b) => b.to_string(),
            Val::Map(m) | Val::Kv(m) => {
                let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("map[{}]", parts.join(" "))
            }
            Val::Obj(m) => {
                let parts: Vec<String> = m
                    .iter()
                    .map(|(k, v)| format!("{k}:{}", self.print(v)))
                    .collect();
                format!("map[{}]", parts.join(" "))
            }
            Val::List(l) => {
                let parts: Vec<String> = l.iter().map(|x| self.print(x)).collect();
                format!("[{}]", parts.join(" "))
            }
            Val::Dot => format!(
                "{{{} {} {} {}}}",
                self.print(&Val::Map(self.data.labels.clone())),
                self.print(&Val::Map(self.data.external_labels.clone())),
                self.data.external_url,
                go_float(self.data.value)
            ),
            Val::Nil => "<no value>".into(),
        }
    }

    fn field(&self, base: Val, fields: &[String]) -> Result<Val, TemplateError> {
        let mut v = base;
        for f in fields {
            v = match v {
                Val::Map(m) => Val::Str(m.get(f).cloned().unwrap_or_default()),
                Val::Kv(m) => match f.as_str() {
                    "SortedPairs" => Val::List(
                        m.into_iter()
                            .map(|(k, v)| {
                                Val::Obj(BTreeMap::from([
                                    ("Name".to_string(), Val::Str(k)),
                                    ("Value".to_string(), Val::Str(v)),
                                ]))
                            })
                            .collect(),
                    ),
                    "Names" => Val::List(m.into_keys().map(Val::Str).collect()),
                    "Values" => Val::List(m.into_values().map(Val::Str).collect()),
                    _ => Val::Str(m.get(f).cloned().unwrap_or_default()),
                },
                Val::Obj(mut m) => match m.remove(f) {
                    Some(x) => x,
                    None => return terr(format!("can't evaluate field {f}")),
                },
                Val::List(l) if f == "Firing" || f == "Resolved" => {
                    let want = f.to_lowercase();
                    Val::List(
                        l.into_iter()
                            .filter(|a| match a {
                                Val::Obj(o) => o.get("Status") == Some(&Val::Str(want.clone())),
                                _ => false,
                            })
                            .collect(),
                    )
                }
                Val::Dot => match f.as_str() {
                    "Labels" => Val::Map(self.data.labels.clone()),
                    "ExternalLabels" => Val::Map(self.data.external_labels.clone()),
                    "ExternalURL" => Val::Str(self.data.external_url.clone()),
                    "Value" => Val::Num(self.data.value),
                    _ => return terr(format!("can't evaluate field {f}")),
                },
                Val::List(ref l) if l.len() == 2 => match (f.as_str(), l.first(), l.get(1)) {
                    ("Labels", Some(m), _) => m.clone(),
                    ("Value", _, Some(x)) => x.clone(),
                    _ => return terr(format!("can't evaluate field {f}")),
                },
                other => {
                    return terr(format!(
                        "can't evaluate field {f} in type {}",
                        type_name(&other)
                    ));
                }
            };
        }
        Ok(v)
    }

    fn operand(
        &self,
        o: &Operand,
        dot: &Val,
        vars: &mut Vec<(String, Val)>,
    ) -> Result<Val, TemplateError> {
        match o {
            Operand::Lit(v) => Ok(v.clone()),
            Operand::Var(name, f) => {
                let Some((_, v)) = vars.iter().rev().find(|(n, _)| n == name) else {
                    return terr(format!("undefined variable \"${name}\""));
                };
                let v = v.clone();
                self.field(v, f)
            }
            Operand::Field(f) => self.field(dot.clone(), f),
            Operand::Call(n) => self.call(n, Vec::new()),
            Operand::Paren(p) => self.pipeline(p, dot, vars),
        }
    }

    fn pipeline(
        &self,
        p: &Pipeline,
        dot: &Val,
        vars: &mut Vec<(String, Val)>,
    ) -> Result<Val, TemplateError> {
        let mut prev: Option<Val> = None;
        for c in &p.cmds {
            if c.func.is_none()
                && let Some(first) = c.args.first()
                && let Some(m) = method_name(first)
                && (c.args.len() > 1 || prev.is_some())
            {
                let base = match first {
                    Operand::Field(f) => {
                        self.field(dot.clone(), f.get(..f.len() - 1).unwrap_or(&[]))?
                    }
                    Operand::Var(name, f) => {
                        let Some((_, v)) = vars.iter().rev().find(|(n, _)| n == name) else {
                            return terr(format!("undefined variable \"${name}\""));
                        };
                        let v = v.clone();
                        self.field(v, f.get(..f.len() - 1).unwrap_or(&[]))?
                    }
                    _ => return terr("bad method call"),
                };
                let mut args = Vec::new();
                for a in c.args.iter().skip(1) {
                    args.push(self.operand(a, dot, vars)?);
                }
                if let Some(pv) = prev.take() {
                    args.push(pv);
                }
                prev = Some(self.method(base, m, args)?);
                continue;
            }
            let mut args = Vec::with_capacity(c.args.len() + 1);
            for a in &c.args {
                args.push(self.operand(a, dot, vars)?);
            }
            let v = match &c.func {
                Some(f) => {
                    if let Some(pv) = prev.take() {
                        args.push(pv);
                    }
                    self.call(f, args)?
                }
                None => {
                    if prev.is_some() {
                        return terr("can't give argument to non-function");
                    }
                    args.pop().unwrap_or(Val::Nil)
                }
            };
            prev = Some(v);
        }
        Ok(prev.unwrap_or(Val::Nil))
    }

    fn method(&self, base: Val, m: &str, args: Vec<Val>) -> Result<Val, TemplateError> {
        match (m, base) {
            ("Remove", Val::Kv(mut kv)) => {
                let [Val::List(names)] = args.as_slice() else {
                    return terr("Remove: want one list of names");
                };
                for n in names {
                    kv.remove(&self.print(n));
                }
                Ok(Val::Kv(kv))
            }
            (m, b) => terr(format!("can't call method {m} on type {}", type_name(&b))),
        }
    }

    fn call(&self, f: &str, a: Vec<Val>) -> Result<Val, TemplateError> {
        let n = a.len();
        let want = |k: usize| -> Result<(), TemplateError> {
            if n == k {
                Ok(())
            } else {
                terr(format!("wrong number of args for {f}: want {k} got {n}"))
            }
        };
        let s = |i: usize| a.get(i).map(|v| self.print(v)).unwrap_or_default();
        Ok(match f {
            "humanize" => {
                want(1)?;
                Val::Str(humanize(to_float(&a[0])?))
            }
            "humanize1024" => {
                want(1)?;
                Val::Str(humanize1024(to_float(&a[0])?))
            }
            "humanizePercentage" => {
                want(1)?;
                Val::Str(format!("{}%", fmt_g(to_float(&a[0])? * 100.0, 4)))
            }
            "humanizeDuration" => {
                want(1)?;
                Val::Str(humanize_duration(to_float(&a[0])?))
            }
            "humanizeTimestamp" => {
                want(1)?;
                Val::Str(humanize_timestamp(to_float(&a[0])?))
            }
            "printf" => {
                if n == 0 {
                    return terr("wrong number of args for printf: want at least 1 got 0");
                }
                Val::Str(sprintf(&s(0), a.get(1..).unwrap_or(&[]), self))
            }
            "print" => {
                let parts: Vec<String> = a.iter().map(|v| self.print(v)).collect();
                Val::Str(parts.join(" "))
            }
            "title" => {
                want(1)?;
                Val::Str(title(&s(0)))
            }
            "toUpper" => {
                want(1)?;
                Val::Str(s(0).to_uppercase())
            }
            "toLower" => {
                want(1)?;
                Val::Str(s(0).to_lowercase())
            }
            "reReplaceAll" => {
                want(3)?;
                let re =
                    Regex::new(&s(0)).map_err(|e| TemplateError(format!("reReplaceAll: {e}")))?;
                Val::Str(re.replace_all(&s(2), s(1).as_str()).into_owned())
            }
            "match" => {
                want(2)?;
                let re = Regex::new(&s(0)).map_err(|e| TemplateError(format!("match: {e}")))?;
                Val::Bool(re.is_match(&s(1)))
            }
            "stripPort" => {
                want(1)?;
                let h = s(0);
                Val::Str(strip_port(&h))
            }
            "stripDomain" => {
                want(1)?;
                let h = s(0);
                let (host, port) = match h.rsplit_once(':') {
                    Some((a, b)) if !a.contains(':') => (a.to_string(), format!(":{b}")),
                    _ => (h.clone(), String::new()),
                };
                if host.parse::<std::net::IpAddr>().is_ok() {
                    Val::Str(h)
                } else {
                    let first = host.split('.').next().unwrap_or("").to_string();
                    Val::Str(first + &port)
                }
            }
            "eq" | "ne" | "lt" | "le" | "gt" | "ge" => {
                want(2)?;
                let ord = match (&a[0], &a[1]) {
                    (Val::Num(x), Val::Num(y)) => x.partial_cmp(y),
                    (Val::Bool(x), Val::Bool(y)) if matches!(f, "eq" | "ne") => Some(x.cmp(y)),
                    (Val::Str(x), Val::Str(y)) => Some(x.cmp(y)),
                    (x, y) => {
                        return terr(format!(
                            "{f}: incompatible types for comparison: {} and {}",
                            type_name(x),
                            type_name(y)
                        ));
                    }
                };
                use std::cmp::Ordering::*;
                Val::Bool(match f {
                    "eq" => ord == Some(Equal),
                    "ne" => ord != Some(Equal),
                    "lt" => ord == Some(Less),
                    "le" => matches!(ord, Some(Less | Equal)),
                    "gt" => ord == Some(Greater),
                    _ => matches!(ord, Some(Greater | Equal)),
                })
            }
            "and" => {
                let mut last = Val::Nil;
                for v in a {
                    if !truthy(&v) {
                        return Ok(v);
                    }
                    last = v;
                }
                last
            }
            "or" => {
                let mut last = Val::Nil;
                for v in a {
                    if truthy(&v) {
                        return Ok(v);
                    }
                    last = v;
                }
                last
            }
            "not" => {
                want(1)?;
                Val::Bool(!truthy(&a[0]))
            }
            "len" => {
                want(1)?;
                Val::Num(match &a[0] {
                    Val::Str(x) => x.len() as f64,
                    Val::Map(m) | Val::Kv(m) => m.len() as f64,
                    Val::Obj(m) => m.len() as f64,
                    Val::List(l) => l.len() as f64,
                    other => return terr(format!("len of {}", type_name(other))),
                })
            }
            "index" => {
                want(2)?;
                match (&a[0], &a[1]) {
                    (Val::Map(m) | Val::Kv(m), k) => {
                        Val::Str(m.get(&self.print(k)).cloned().unwrap_or_default())
                    }
                    (Val::Obj(m), k) => m.get(&self.print(k)).cloned().unwrap_or(Val::Nil),
                    (Val::List(l), Val::Num(i)) => l
                        .get(*i as usize)
                        .cloned()
                        .ok_or_else(|| TemplateError(format!("index out of range: {i}")))?,
                    (x, _) => return terr(format!("can't index item of type {}", type_name(x))),
                }
            }
            "html" | "safeHtml" => {
                want(1)?;
                let t = s(0);
                if f == "html" {
                    Val::Str(
                        t.replace('&', "&amp;")
                            .replace('<', "&lt;")
                            .replace('>', "&gt;")
                            .replace('"', "&#34;")
                            .replace('\'', "&#39;"),
                    )
                } else {
                    Val::Str(t)
                }
            }
            "query" => {
                want(1)?;
                let Some(q) = self.query else {
                    return terr("query: no query engine available here");
                };
                let res = q(&s(0)).map_err(|e| TemplateError(format!("query: {e}")))?;
                Val::List(
                    res.into_iter()
                        .map(|(l, v)| Val::List(vec![Val::Map(l), Val::Num(v)]))
                        .collect(),
                )
            }
            "first" => {
                want(1)?;
                match &a[0] {
                    Val::List(l) => l.first().cloned().ok_or_else(|| {
                        TemplateError("first() called on vector with no elements".into())
                    })?,
                    other => return terr(format!("first of {}", type_name(other))),
                }
            }
            "label" => {
                want(2)?;
                match &a[1] {
                    Val::List(p) if p.len() == 2 => match p.first() {
                        Some(Val::Map(m)) => Val::Str(m.get(&s(0)).cloned().unwrap_or_default()),
                        _ => Val::Str(String::new()),
                    },
                    other => return terr(format!("label of {}", type_name(other))),
                }
            }
            "value" => {
                want(1)?;
                match &a[0] {
                    Val::List(p) if p.len() == 2 => p.get(1).cloned().unwrap_or(Val::Nil),
                    other => return terr(format!("value of {}", type_name(other))),
                }
            }
            "sortByLabel" => {
                want(2)?;
                let key = s(0);
                match &a[1] {
                    Val::List(l) => {
                        let mut l = l.clone();
                        let get = |v: &Val| match v {
                            Val::List(p) => match p.first() {
                                Some(Val::Map(m)) => m.get(&key).cloned().unwrap_or_default(),
                                _ => String::new(),
                            },
                            _ => String::new(),
                        };
                        l.sort_by_key(|x| get(x));
                        Val::List(l)
                    }
                    other => return terr(format!("sortByLabel of {}", type_name(other))),
                }
            }
            "join" => {
                want(2)?;
                let Val::List(l) = &a[1] else {
                    return terr(format!("join: want a list, got {}", type_name(&a[1])));
                };
                let parts: Vec<String> = l.iter().map(|v| self.print(v)).collect();
                Val::Str(parts.join(&s(0)))
            }
            "stringSlice" => Val::List(a.iter().map(|v| Val::Str(self.print(v))).collect()),
            "trimSpace" => {
                want(1)?;
                Val::Str(s(0).trim().to_string())
            }
            other => return terr(format!("function {other:?} not defined")),
        })
    }
}

fn type_name(v: &Val) -> &'static str {
    match v {
        Val::Str(_) => "string",
        Val::Num(_) => "float64",
        Val::Bool(_) => "bool",
        Val::Map(_) => "map[string]string",
        Val::List(_) => "slice",
        Val::Dot => "struct",
        Val::Nil => "nil",
        Val::Kv(_) => "template.KV",
        Val::Obj(_) => "struct",
    }
}

fn truthy(v: &Val) -> bool {
    match v {
        Val::Str(s) => !s.is_empty(),
        Val::Num(n) => *n != 0.0,
        Val::Bool(b) => *b,
        Val::Map(m) | Val::Kv(m) => !m.is_empty(),
        Val::List(l) => !l.is_empty(),
        Val::Obj(m) => !m.is_empty(),
        Val::Dot => true,
        Val::Nil => false,
    }
}

fn to_float(v: &Val) -> Result<f64, TemplateError> {
    match v {
        Val::Num(n) => Ok(*n),
        Val::Str(s) => parse_go_float(s).ok_or_else(|| {
            TemplateError(format!("strconv.ParseFloat: parsing {s:?}: invalid syntax"))
        }),
        Val::Bool(_)
        | Val::Map(_)
        | Val::List(_)
        | Val::Dot
        | Val::Nil
        | Val::Kv(_)
        | Val::Obj(_) => terr(format!("can't convert {} to float", type_name(v))),
    }
}

fn parse_go_float(s: &str) -> Option<f64> {
    let t = s.trim();
    match t.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ => t.parse().ok(),
    }
}

fn strip_port(h: &str) -> String {
    if let Some(rest) = h.strip_prefix('[')
        && let Some(end) = rest.find(']')
    {
        return rest[..end].to_string();
    }
    match h.rsplit_once(':') {
        Some((a, _)) if !a.contains(':') => a.to_string(),
        _ => h.to_string(),
    }
}

fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_sep = true;
    for c in s.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = !(c.is_alphanumeric() || c == '_' || c == '\'');
    }
    out
}

/// Go's `%v` of a float64 (shortest representation, exponent form below 1e-4 and from 1e6).
pub fn go_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
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

fn go_exp(mant: &str, exp: i32) -> String {
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mant}e{sign}{:02}", exp.unsigned_abs())
}

/// Go's `%.{prec}g`.
pub fn fmt_g(v: f64, prec: usize) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
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
fn civil_from_days(z: i64) -> (i64, u32, u32) {
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
fn sprintf(fmtstr: &str, args: &[Val], cx: &Cx<'_, '_>) -> String {
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

#[cfg(test)]
mod data_tests {
    use super::*;

    fn kv(pairs: &[(&str, &str)]) -> Data {
        Data::Kv(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn alert(status: &str, instance: &str) -> Data {
        Data::Obj(BTreeMap::from([
            ("Status".to_string(), Data::Str(status.into())),
            (
                "Labels".to_string(),
                kv(&[("alertname", "Down"), ("instance", instance)]),
            ),
        ]))
    }

    fn notification() -> Data {
        Data::Obj(BTreeMap::from([
            ("Status".to_string(), Data::Str("firing".into())),
            (
                "Alerts".to_string(),
                Data::List(vec![
                    alert("firing", "a"),
                    alert("resolved", "b"),
                    alert("firing", "c"),
                ]),
            ),
            ("GroupLabels".to_string(), kv(&[("alertname", "Down")])),
            (
                "CommonLabels".to_string(),
                kv(&[("alertname", "Down"), ("job", "node")]),
            ),
            ("Escalation".to_string(), Data::Nil),
        ]))
    }

    #[test]
    fn alertmanager_style_templates() {
        let mut set = TemplateSet::new();
        set.add(
            r#"{{ define "subject" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .GroupLabels.Values | join " " }} {{ if gt (len .CommonLabels) (len .GroupLabels) }}({{ with .CommonLabels.Remove .GroupLabels.Names }}{{ .Values | join " " }}{{ end }}){{ end }}{{ end }}
ignored text
{{ define "list" }}{{ range .Alerts.Firing }}{{ .Labels.instance }};{{ end }}{{ end }}"#,
        )
        .unwrap();
        assert_eq!(set.names(), ["list", "subject"]);
        let d = notification();
        assert_eq!(
            set.execute("subject", &d).unwrap(),
            "[FIRING:2] Down (node)"
        );
        assert_eq!(
            set.render(r#"{{ template "list" . }}|{{ len .Alerts.Resolved }}"#, &d)
                .unwrap(),
            "a;c;|1"
        );
        assert_eq!(
            set.render(
                "{{ range .CommonLabels.SortedPairs }}{{ .Name }}={{ .Value }} {{ end }}",
                &d
            )
            .unwrap(),
            "alertname=Down job=node "
        );
        assert_eq!(
            set.render(
                "{{ with .Escalation }}E{{ else }}no{{ end }} {{ .CommonLabels.missing }}.",
                &d
            )
            .unwrap(),
            "no ."
        );
        assert_eq!(
            set.render(
                r#"{{ stringSlice "a" "b" | join "," }} {{ trimSpace "  x " | title }}"#,
                &d
            )
            .unwrap(),
            "a,b X"
        );
        assert!(
            set.render("{{ .Nope }}", &d).is_err(),
            "unknown struct field"
        );
        assert!(set.render(r#"{{ template "missing" . }}"#, &d).is_err());
    }

    #[test]
    fn recursive_definitions_stop() {
        let mut set = TemplateSet::new();
        set.add(r#"{{ define "loop" }}x{{ template "loop" . }}{{ end }}"#)
            .unwrap();
        let e = set.execute("loop", &Data::Nil).unwrap_err();
        assert!(e.0.contains("maximum template depth"), "{e}");
    }

    #[test]
    fn local_defines_in_annotation_templates() {
        let t = Template::parse(r#"{{ define "x" }}hi {{ . }}{{ end }}{{ template "x" "there" }}"#)
            .unwrap();
        assert_eq!(t.render(&TemplateData::default()).unwrap(), "hi there");
        assert_eq!(t.render_data(&Data::Nil).unwrap(), "hi there");
    }
}
