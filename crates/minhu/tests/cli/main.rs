//! The `minhu` binary's integration tests, one test binary: the commands as a person
//! and a script run them, and a real `minhu serve` where a test needs one (`server`).
//! One binary links the stack once, where five did it five times.

mod architecture;
mod backup;
mod calendar;
mod citizen;
mod classifier;
mod commands;
mod crash;
mod demo;
mod logs;
mod nodes;
mod server;
