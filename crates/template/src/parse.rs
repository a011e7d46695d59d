//! Parsing: tokens into pipelines and commands, actions into control nodes (`if`, `range`,
//! `with`, `define`, `template`), and chunks into the node tree of a template.

use crate::error::{TemplateError, perr};
use crate::lex::{Chunk, Tok, lex};
use crate::value::Val;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub(crate) enum Operand {
    Var(String, Vec<String>),
    Field(Vec<String>),
    Lit(Val),
    Call(String),
    Paren(Pipeline),
}

#[derive(Debug, Clone)]
pub(crate) struct Command {
    pub(crate) func: Option<String>,
    pub(crate) args: Vec<Operand>,
}

#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    pub(crate) decl: Option<String>,
    pub(crate) cmds: Vec<Command>,
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Text(String),
    Action(Pipeline),
    If(Vec<(Pipeline, Vec<Node>)>, Vec<Node>),
    Range(Option<String>, Pipeline, Vec<Node>),
    With(Pipeline, Vec<Node>, Vec<Node>),
    Call(String, Option<Pipeline>),
}

pub(crate) type Defs = BTreeMap<String, Vec<Node>>;

pub(crate) struct P {
    pub(crate) toks: Vec<Tok>,
    pub(crate) pos: usize,
}

impl P {
    pub(crate) fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    pub(crate) fn pipeline(&mut self, allow_decl: bool) -> Result<Pipeline, TemplateError> {
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
    pub(crate) fn command(&mut self) -> Result<Command, TemplateError> {
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
            return perr("missing value for command");
        }
        if func.is_none() && args.len() > 1 && method_name(&args[0]).is_none() {
            return perr("can't give argument to non-function");
        }
        Ok(Command { func, args })
    }
    pub(crate) fn operand(&mut self) -> Result<Operand, TemplateError> {
        let Some(t) = self.peek().cloned() else {
            return perr("unexpected end of action");
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
                    return perr("unclosed left paren");
                }
                self.pos += 1;
                Operand::Paren(p)
            }
            other => return perr(format!("unexpected {other:?} in operand")),
        })
    }
}

/// The functions a template may call (checked when it is parsed).
pub(crate) const FUNCS: &[&str] = &[
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
pub(crate) const METHODS: &[&str] = &["Remove"];

pub(crate) fn method_name(o: &Operand) -> Option<&str> {
    let f = match o {
        Operand::Field(f) | Operand::Var(_, f) => f,
        _ => return None,
    };
    f.last().map(String::as_str).filter(|m| METHODS.contains(m))
}

pub(crate) fn check_func(n: &str) -> Result<(), TemplateError> {
    if FUNCS.contains(&n) {
        Ok(())
    } else {
        perr(format!("function {n:?} not defined"))
    }
}

pub(crate) enum Ctl {
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

pub(crate) fn parse_action(a: &str) -> Result<Ctl, TemplateError> {
    if a.starts_with("/*") {
        return if a.ends_with("*/") {
            Ok(Ctl::Comment)
        } else {
            perr("unclosed comment")
        };
    }
    let toks = lex(a)?;
    let head = match toks.first() {
        Some(Tok::Ident(w)) => w.as_str(),
        None => return perr("missing value for command"),
        _ => "",
    };
    let mk = |from: usize, decl: bool| -> Result<Pipeline, TemplateError> {
        let mut p = P {
            toks: toks.get(from..).unwrap_or(&[]).to_vec(),
            pos: 0,
        };
        let pl = p.pipeline(decl)?;
        if p.pos != p.toks.len() {
            return perr(format!("unexpected {:?} in action", p.toks[p.pos]));
        }
        Ok(pl)
    };
    match head {
        "if" => Ok(Ctl::If(mk(1, false)?)),
        "else" => match toks.get(1) {
            None => Ok(Ctl::Else),
            Some(Tok::Ident(w)) if w == "if" => Ok(Ctl::ElseIf(mk(2, false)?)),
            _ => perr("unexpected tokens after else"),
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
                return perr(format!("{head} needs a quoted template name"));
            };
            if head == "define" {
                if toks.len() != 2 {
                    return perr("unexpected tokens after define name");
                }
                Ok(Ctl::Define(name.clone()))
            } else if toks.len() == 2 {
                Ok(Ctl::Call(name.clone(), None))
            } else {
                Ok(Ctl::Call(name.clone(), Some(mk(2, false)?)))
            }
        }
        "block" | "break" | "continue" => perr(format!("{head:?} is not supported")),
        _ => Ok(Ctl::Plain(mk(0, true)?)),
    }
}

pub(crate) enum Stop {
    Eof,
    Else,
    ElseIf(Pipeline),
    End,
}

pub(crate) fn parse_nodes(
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
                                    return perr("expected {{end}} after {{else}}");
                                }
                                else_body = body;
                                break;
                            }
                            Stop::Eof => return perr("unexpected EOF: missing {{end}}"),
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
                                return perr("expected {{end}} after {{else}}");
                            }
                            b
                        }
                        _ => return perr("with without {{end}}"),
                    };
                    nodes.push(Node::With(p, body, else_body));
                }
                Ctl::Define(name) => {
                    let (body, stop) = parse_nodes(chunks, defs)?;
                    if !matches!(stop, Stop::End) {
                        return perr(format!("define {name:?} without {{{{end}}}}"));
                    }
                    defs.insert(name, body);
                }
                Ctl::Call(name, p) => nodes.push(Node::Call(name, p)),
                Ctl::Range(v, p) => {
                    let (body, stop) = parse_nodes(chunks, defs)?;
                    if !matches!(stop, Stop::End) {
                        return perr("range without {{end}}");
                    }
                    nodes.push(Node::Range(v, p, body));
                }
            },
        }
    }
    Ok((nodes, Stop::Eof))
}
