//! End-to-end tests: every test drives the real `datavet` binary.

mod common;
mod scan;
