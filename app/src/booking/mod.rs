//! Online booking on the clinic's public page, `/book` (a stable address),
//! when the clinic turns it on (scheduling set-up → booking rules).
//!
//! A visitor sees the soonest free times of every visit type the clinic offers
//! online, narrows them by practitioner and place, picks one, gives their
//! details and proves their email with a six-digit code. The time is held for
//! them meanwhile (the clinic's hold minutes; the slot engine counts it busy).
//! Then they are registered as a new patient (a possible duplicate is noted on
//! the appointment for the front desk to confirm and merge: nothing is linked
//! by itself), the visit is booked under the same rules and database guarantees
//! as the front desk's, and the confirmation email carries the calendar entry
//! and a private link to see or cancel the booking.
//!
//! - `db.rs`: requests and held times, through a [`crate::db::TenantTx`];
//! - `flow.rs`: the steps;
//! - `page.rs`: the pages, plain HTML without script (the server's
//!   `server/src/booking.rs` answers the addresses and limits the rate).
//!
//! The public pages show practitioners' names and free times, never anything
//! about another patient.

pub mod db;
pub mod flow;
pub mod page;
