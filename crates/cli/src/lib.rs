//! `vigia` as a library: the configuration of the whole process, the [`components`] it runs
//! and their wiring, and the subcommands. The `vigia` binary (`main.rs`) only parses the command
//! line and calls in here; integration tests build the same [`components::Components`] in-process.

pub mod alerting;
pub mod components;
pub mod config;
pub mod demo;
pub mod logging;
pub mod serve;
pub mod tools;
