//! `scr-demo`: the demo's and the tests' data. A deterministic synthetic population
//! ([`seed`]), the demo staff and system identities ([`identities`]), and a data folder
//! seeded with both or a spine serving one ([`setup`]).
//!
//! Its own crate so that the spine's library, and the service built from it, carry no
//! synthetic patients or demo passcodes: `scr-demo seed`, the tests, the benchmarks and the
//! fuzz corpora link it; nothing in production does.

pub mod identities;
pub mod seed;
pub mod setup;
