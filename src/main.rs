//! hasura-tui: parses the command line and hands over to a command.

use clap::Parser;

use hasura_tui::cli::{Cli, Command};
use hasura_tui::commands;
use hasura_tui::config::{self, ConfigError};

/// Runtime failures (cluster unreachable, not found, ...).
const EXIT_FAILURE: i32 = 1;
/// Usage errors, bad kubeconfig (clap uses 2 for its own usage errors too).
const EXIT_USAGE: i32 = 2;

fn main() {
    one_malloc_arena();
    let cli = Cli::parse();
    let log_path = hasura_tui::logging::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => fail(
            EXIT_FAILURE,
            &format!("cannot start the async runtime: {e}"),
        ),
    };
    let code = runtime.block_on(run(cli, log_path));
    // Background tasks (watches, forwards) end with the runtime; don't wait for their timeouts.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    std::process::exit(code);
}

/// One malloc arena for the whole process. glibc gives threads that allocate at the same time
/// arenas of their own (up to eight per core), and each keeps its own free memory: the dashboard
/// at 5,000 microservices peaked at 52 MiB with the runtime's threads in their own arenas, 44 MiB
/// in one (BENCHMARKS.md). Allocation here is light (the forward path reuses its buffers), so the
/// shared lock costs nothing measurable.
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tunable, and runs before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

async fn run(cli: Cli, log_path: Option<std::path::PathBuf>) -> i32 {
    let result = match cli.command {
        Some(Command::DemoCluster(args)) => commands::demo_cluster::run(args).await,
        Some(Command::PortForward(args)) => match connect(&cli.global).await {
            Ok(target) => commands::port_forward::run(target, &cli.global, &args).await,
            Err(code) => return code,
        },
        Some(Command::List(args)) => match connect(&cli.global).await {
            Ok(target) => commands::list::run(target, &cli.global, &args).await,
            Err(code) => return code,
        },
        Some(Command::Logs(args)) => match connect(&cli.global).await {
            Ok(target) => commands::logs::run(target, &cli.global, &args).await,
            Err(code) => return code,
        },
        Some(Command::Open(args)) => match connect(&cli.global).await {
            Ok(target) => commands::open::run(target, &cli.global, &args).await,
            Err(code) => return code,
        },
        None if cli.demo => {
            commands::dashboard::run_demo(&cli.global, log_path, !cli.no_restore).await
        }
        None => match connect(&cli.global).await {
            Ok(target) => {
                commands::dashboard::run(target, &cli.global, log_path, !cli.no_restore).await
            }
            Err(code) => return code,
        },
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("hasura-tui: {e:#}");
            if e.downcast_ref::<commands::UsageError>().is_some() {
                EXIT_USAGE
            } else {
                EXIT_FAILURE
            }
        }
    }
}

/// The cluster from the kubeconfig; on bad input, the error is printed and the exit code returned.
async fn connect(global: &hasura_tui::cli::GlobalArgs) -> Result<config::ClusterTarget, i32> {
    config::connect(global).await.map_err(|e| usage_error(&e))
}

fn usage_error(e: &ConfigError) -> i32 {
    eprintln!("hasura-tui: {e}");
    EXIT_USAGE
}

fn fail(code: i32, message: &str) -> ! {
    eprintln!("hasura-tui: {message}");
    std::process::exit(code)
}
