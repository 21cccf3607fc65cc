//! End-to-end tests against the real `vulndesk` binary. One test binary with modules,
//! because linking is the slow part; every test that touches storage runs on SQLite and
//! PostgreSQL through `helpers::on_each_database`.

mod abuse;
mod admin;
mod advisories;
mod audit;
mod authz_matrix;
mod bench;
mod concurrency;
mod coordination;
mod cve_services;
mod durability;
mod first_run;
mod form;
mod health;
mod helpers;
mod html;
mod init;
mod intake;
mod lifecycle;
mod mail_imap;
mod mail_ingest;
mod mail_keys;
mod mail_scenarios;
mod mail_support;
mod openapi;
mod outbound;
mod policy_cli;
mod portal;
mod products;
mod receipts;
mod reminders;
mod review_accounts;
mod review_intake;
mod review_policy;
mod review_visibility;
mod snapshots;
mod team;
mod team_support;
mod workflow;
