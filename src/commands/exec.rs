//! `hasura-tui exec NAME [-p POD] [-c C] [-i] [-t] -- CMD ARGS…`: the Hasura CLI's
//! `microservice exec`, with kubectl's flags and habits: `-t` without a terminal on stdin is
//! dropped with kubectl's warning, a non-zero remote exit is said on stderr (`command
//! terminated with exit code 3`) and becomes ours.

use std::io::IsTerminal;

use crate::access::AccessCache;
use crate::change::ChangeError;
use crate::cli::{ExecArgs, GlobalArgs};
use crate::config::ClusterTarget;
use crate::exec::{self, Exit, Session, Terminal};

/// Runs the command; its exit code.
pub async fn run(
    target: ClusterTarget,
    global: &GlobalArgs,
    args: &ExecArgs,
) -> anyhow::Result<i32> {
    if global.read_only {
        return Err(ChangeError::ReadOnly("exec").into());
    }
    let (namespace, name) = super::microservice::resolve(&target, global, &args.target).await?;
    let client = &target.client;
    let pods = exec::running_pods(client, &namespace, name).await?;
    let chosen = exec::choose(
        &namespace,
        name,
        &pods,
        args.pod.as_deref(),
        args.container.as_deref(),
    )?;
    exec::check_allowed(client, &AccessCache::default(), &chosen).await?;
    let mut tty = args.tty;
    if tty && !std::io::stdin().is_terminal() {
        eprintln!("Unable to use a TTY - input is not a terminal or the right kind of file");
        tty = false;
    }
    exec::audit(client, &target.context, &chosen, &args.command).await;
    let process = exec::start(client, &chosen, &args.command, args.stdin, tty).await?;
    let terminal = if tty { Terminal::Raw } else { Terminal::Plain };
    // On a terminal in raw mode, a sign-in plugin that needs the person gets it from the
    // session (which steps aside), not behind it.
    let (handovers, mut handed) = tokio::sync::mpsc::channel(1);
    let credentials = target.credentials.as_ref().filter(|_| tty);
    if let Some(credentials) = credentials {
        credentials.terminal().hand_to(handovers);
    }
    let session = Session::new(process, args.stdin, tty);
    let ran = exec::run_session(session, terminal, Some(&mut handed)).await;
    if let Some(credentials) = credentials {
        credentials.terminal().take_back();
    }
    match ran? {
        Exit::Code(0) => Ok(0),
        Exit::Code(code) => {
            eprintln!("command terminated with exit code {code}");
            Ok(code)
        }
        Exit::Failed(why) => Err(anyhow::anyhow!(why)),
    }
}
