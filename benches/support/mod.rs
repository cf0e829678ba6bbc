//! What the report harness is made of; shared by nothing else.
#![allow(dead_code)]

pub mod bodies;
pub mod churn;
pub mod dashboard;
pub mod demo;
pub mod detail;
pub mod forward;
pub mod measure;
pub mod netem;
pub mod report;
pub mod sign_in;
pub mod stop;
pub mod switch;
#[path = "../../tests/common/tmux.rs"]
pub mod tmux;
pub mod versus;
pub mod wan;
