//! hasura-tui: parses the command line and hands over to a command.

use clap::Parser;

use hasura_tui::cli::{Cli, Command};
use hasura_tui::commands;

/// Exit code for runtime failures (cluster unreachable, not found, ...); clap uses 2 for usage.
const EXIT_FAILURE: i32 = 1;

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("hasura-tui: cannot start the async runtime: {e}");
            std::process::exit(EXIT_FAILURE);
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Some(Command::DemoCluster(args)) => commands::demo_cluster::run(args).await,
            None if cli.demo => {
                eprintln!("the dashboard is not built yet; running the demo cluster alone");
                commands::demo_cluster::run(hasura_tui::cli::DemoClusterArgs {
                    listen: "127.0.0.1:0".parse().expect("a valid literal address"),
                    write_kubeconfig: None,
                    scale: 0,
                    churn: false,
                })
                .await
            }
            None => {
                eprintln!("hasura-tui: the dashboard is not built yet; try --demo or demo-cluster");
                std::process::exit(2);
            }
        }
    });
    if let Err(e) = result {
        eprintln!("hasura-tui: {e:#}");
        std::process::exit(EXIT_FAILURE);
    }
}
