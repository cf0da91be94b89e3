//! MediSync's integration tests: one test binary (it links the server once), a
//! module per area. Each test gets its own fresh database on SQLite and, where it
//! says so, on PostgreSQL (see `support`).
//!
//! A new domain adds `mod <domain>;` here and a file beside this one.

#[macro_use]
mod support;

mod access;
mod billing;
mod booking;
mod chart;
mod cli;
mod custom_fields;
mod documents;
mod engagement;
mod erasure;
mod feeds;
mod fhir;
mod front_door;
mod http;
mod identity;
mod instances;
mod isolation;
mod jobs;
mod layers;
mod mail;
mod merge;
mod patient_import;
mod payments;
mod pool;
mod prescribing;
mod queue;
mod registry;
mod request_path;
mod scheduling;
mod scheduling_report;
mod schema;
mod security_review;
mod self_service;
mod staff_access;
mod subscriptions;
mod texts;
mod two_clinics;
mod waitlist;
