//! `hasura-tui demo-credential` (hidden): the demo cluster's exec credential plugin.

use std::time::Duration;

use crate::cli::DemoCredentialArgs;
use crate::demo::credential_plugin::{self, PluginRun};

pub async fn run(args: DemoCredentialArgs) -> anyhow::Result<()> {
    let run = PluginRun {
        user: &args.user,
        ttl: Duration::from_secs(args.ttl),
        delay: Duration::from_millis(args.delay_ms),
        interactive: args.interactive,
        runs_file: args.runs_file.as_deref(),
    };
    // Blocking on purpose: a plugin is a short process that reads the terminal and sleeps.
    tokio::task::block_in_place(|| credential_plugin::run(&run))?;
    Ok(())
}
