//! The commands: thin front ends over the same engine.

pub mod demo_cluster;
