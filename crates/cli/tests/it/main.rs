//! End-to-end tests against the real `vulndesk` binary. One test binary with modules,
//! because linking is the slow part; every test that touches storage runs on SQLite and
//! PostgreSQL through `helpers::on_each_database`.

mod admin;
mod durability;
mod health;
mod helpers;
mod init;
mod intake;
mod lifecycle;
mod policy_cli;
mod products;
