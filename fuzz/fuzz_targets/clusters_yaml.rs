//! A project's `clusters.yaml` (the Hasura CLI's file), parsed. No panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = hasura_tui::config::project::parse(&text);
});
