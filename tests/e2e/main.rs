//! End-to-end tests through the `datavet` binary. Each test runs in its own temporary
//! directory (see `util.rs`).

mod util;

mod bad;
mod manifest;
mod quality;
mod scan;
mod sign;
mod snapshot;
mod verify;
