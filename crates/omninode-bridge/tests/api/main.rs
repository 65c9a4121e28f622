//! End-to-end tests: the real binary, real HTTP on a random port, a real SQLite file.

mod helpers;

mod auth;
mod cli;
mod endpoints;
mod errors;
mod intelligence;
mod limits;
mod persistence;
