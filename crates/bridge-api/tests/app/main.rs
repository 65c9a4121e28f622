//! In-process API tests: the real router (`router(app).oneshot(…)`) over a real store in a
//! temp directory (SQLite; PostgreSQL with `OMNINODE_TEST_BACKEND=postgres`), no socket and
//! no process to spawn. The spawned-binary suite of `omninode-bridge` keeps the CLI, signal,
//! crash and Kafka tests.

mod helpers;

mod auth;
mod budget;
mod endpoints;
mod errors;
mod limits;
mod log;
mod page;
mod signatures;
mod snapshots;
