//! hasura-tui: parses the command line and hands over to a command.

use clap::Parser;

use hasura_tui::change::Change;
use hasura_tui::cli::{Cli, ClusterCommand, Command};
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

async fn run(mut cli: Cli, log_path: Option<std::path::PathBuf>) -> i32 {
    let command = match cli.command.take() {
        #[cfg(feature = "demo")]
        Some(Command::DemoCluster(args)) => {
            return exit_code(commands::demo_cluster::run(args).await);
        }
        #[cfg(feature = "demo")]
        Some(Command::DemoCredential(args)) => {
            return exit_code(commands::demo_credential::run(args).await);
        }
        Some(Command::Cluster(command)) => Some(command),
        #[cfg(feature = "demo")]
        None if cli.demo => {
            return exit_code(
                commands::demo_dashboard::run_demo(&cli.global, log_path, !cli.no_restore).await,
            );
        }
        #[cfg(not(feature = "demo"))]
        None if cli.demo => fail(
            EXIT_USAGE,
            "this hasura-tui was built without the demo cluster (the `demo` feature)",
        ),
        None => None,
    };
    // `-c ALIAS` names a context through the project's clusters.yaml; a context reached
    // otherwise takes the same settings when the project has an alias for it.
    let flags = cli.global.clone();
    let alias = match config::project::resolve_alias(&mut cli.global) {
        Ok(alias) => alias,
        Err(e) => fail(EXIT_USAGE, &e),
    };
    // The dashboard on an alias whose context the kubeconfig lacks opens on the current
    // context with the picker, saying so; a command stops with the same one line.
    let mut start_note = None;
    let target = match config::connect(&cli.global).await {
        Ok(target) => target,
        Err(e) => {
            let Some(cluster) = &alias else {
                return usage_error(&e);
            };
            let said = format!("cluster alias {}: {e}", cluster.alias);
            if command.is_some() || !matches!(e, ConfigError::UnknownContext { .. }) {
                eprintln!("hasura-tui: {said}");
                return EXIT_USAGE;
            }
            cli.global = flags.clone();
            match config::connect(&cli.global).await {
                Ok(target) => {
                    start_note = Some(said);
                    target
                }
                Err(_) => {
                    eprintln!("hasura-tui: {said}");
                    return EXIT_USAGE;
                }
            }
        }
    };
    let on_alias = alias.is_some() && start_note.is_none();
    if !on_alias
        && let Ok(Some(project)) = config::project::for_run(&cli.global)
        && let Some(cluster) = project.alias_of(&target.context).cloned()
    {
        config::project::fill(&mut cli.global, &project, &cluster);
    }
    // Headless commands sign in first, on the terminal they run in; the dashboard signs in
    // before its screen opens only when the plugin may need the person (else the screen opens
    // at once and says `signing in`).
    let sign_in_now = command.is_some()
        || target
            .credentials
            .as_ref()
            .is_some_and(|c| c.needs_terminal());
    if sign_in_now && let Err(e) = target.sign_in().await {
        // The identity provider's answer can be part of the error.
        let said = format!("cannot sign in to {}: {e}", target.context);
        eprintln!("hasura-tui: {}", hasura_tui::terminal_text::escape(&said));
        return EXIT_USAGE;
    }
    let global = &cli.global;
    let result = match command {
        Some(ClusterCommand::PortForward(args)) => {
            commands::port_forward::run(target, global, &args).await
        }
        Some(ClusterCommand::List(args)) => commands::list::run(target, global, &args).await,
        Some(ClusterCommand::Logs(args)) => commands::logs::run(target, global, &args).await,
        Some(ClusterCommand::Open(args)) => commands::open::run(target, global, &args).await,
        Some(ClusterCommand::Restart(args)) => {
            commands::change::run(target, global, &args.target, Change::Restart).await
        }
        Some(ClusterCommand::Scale(args)) => {
            let change = Change::Scale(args.replicas);
            commands::change::run(target, global, &args.target, change).await
        }
        Some(ClusterCommand::Describe(args)) => {
            commands::describe::run(target, global, &args).await
        }
        Some(ClusterCommand::Exec(args)) => {
            return match commands::exec::run(target, global, &args).await {
                Ok(code) => code,
                Err(e) => exit_code(Err(e)),
            };
        }
        None => {
            let start = commands::dashboard::Start {
                restore: !cli.no_restore,
                note: start_note,
                demo: false,
            };
            commands::dashboard::run(target, global, &flags, log_path, start).await
        }
    };
    exit_code(result)
}

fn exit_code(result: anyhow::Result<()>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(e) => {
            // An error can quote the cluster (an admission webhook's message, say).
            let said = format!("{e:#}");
            eprintln!("hasura-tui: {}", hasura_tui::terminal_text::escape(&said));
            if e.downcast_ref::<commands::UsageError>().is_some() {
                EXIT_USAGE
            } else {
                EXIT_FAILURE
            }
        }
    }
}

fn usage_error(e: &ConfigError) -> i32 {
    eprintln!("hasura-tui: {e}");
    EXIT_USAGE
}

fn fail(code: i32, message: &str) -> ! {
    eprintln!("hasura-tui: {message}");
    std::process::exit(code)
}
