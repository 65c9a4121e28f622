//! End-to-end tests: the real binary, real HTTP on a random port, a real database (SQLite,
//! or PostgreSQL with `OMNINODE_TEST_BACKEND=postgres`).

mod certs;
mod helpers;

mod auth;
mod cli;
mod corpus;
mod endpoints;
mod intelligence;
mod kafka;
mod kafka_faults;
mod limits;
mod log;
mod logs;
mod monitor;
mod persistence;
mod placement;
mod postgres;
mod reducer;
mod registry;
mod signing;
mod supervision;
mod tls_api;
mod tls_kafka;
mod tls_postgres;
mod witness;
mod witnessed;
