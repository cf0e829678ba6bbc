//! The command line, as clap types. Global flags follow kubectl's names.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "hasura-tui",
    version,
    about = "A live dashboard for the microservices of a Hasura cluster, with one-key port-forwards",
    after_help = "Try it without a cluster: hasura-tui --demo"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    /// Open the dashboard on the embedded demo cluster (no kubeconfig needed).
    #[arg(long, global = false)]
    pub demo: bool,

    /// Start without the forwards saved from the last run on this context.
    #[arg(long, global = false)]
    pub no_restore: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Path to the kubeconfig file (else $KUBECONFIG, else ~/.kube/config).
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use (else its current-context).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,

    /// A cluster of the Hasura project by its alias in clusters.yaml (`-c dev`), as the Hasura
    /// CLI takes it: its kubeContext, namespaces and name. The project is --project, else the
    /// nearest folder up from here with a clusters.yaml.
    #[arg(
        short = 'c',
        long = "cluster",
        global = true,
        value_name = "ALIAS",
        conflicts_with = "context"
    )]
    pub cluster: Option<String>,

    /// Namespace of the Hasura platform microservices (default: the alias's, else hasura).
    #[arg(long, global = true, value_name = "NS")]
    pub hasura_namespace: Option<String>,

    /// Namespace of your own (custom) microservices (else the context's namespace, else default).
    #[arg(long, global = true, value_name = "NS")]
    pub user_namespace: Option<String>,

    /// Cluster name for route templates (else hasura-conf's cluster-name, else the kubeconfig's).
    #[arg(long, global = true, value_name = "NAME")]
    pub cluster_name: Option<String>,

    /// The project's `data` for this cluster (clusters.yaml), as the route templates'
    /// `cluster.data`; set from the alias, never on the command line.
    #[arg(skip)]
    pub cluster_data: Option<serde_json::Value>,

    /// A Hasura project directory: its clusters.yaml names the clusters (`-c ALIAS`), its
    /// conf/routes.yaml and conf/domains.yaml give the routes.
    #[arg(long, global = true, value_name = "DIR")]
    pub project: Option<PathBuf>,

    /// Change nothing in the cluster: exec, restart and scale are refused.
    #[arg(long, global = true, env = "HASURA_TUI_READ_ONLY", value_parser = clap::builder::FalseyValueParser::new())]
    pub read_only: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    #[command(flatten)]
    Cluster(ClusterCommand),
    /// Run the demo cluster alone, for kubectl, scripts and benchmarks.
    #[cfg(feature = "demo")]
    DemoCluster(DemoClusterArgs),
    /// The demo cluster's exec credential plugin (what `demo-cluster --auth exec` writes into
    /// its kubeconfig): prints an ExecCredential with a short-lived token.
    #[cfg(feature = "demo")]
    #[command(hide = true)]
    DemoCredential(DemoCredentialArgs),
}

/// The commands that work on a cluster from the kubeconfig.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Print the microservices and exit (like `hasura microservice list`).
    List(ListArgs),
    /// Forward a local port to a microservice until Ctrl-C (like `hasura microservice port-forward`).
    PortForward(PortForwardArgs),
    /// Print a microservice's logs, all its pods with a [pod] prefix (like `hasura microservice logs`).
    Logs(LogsArgs),
    /// Open a microservice's external URL in the browser (like `hasura microservice open`).
    Open(OpenArgs),
    /// Restart a microservice's pods one by one, as `kubectl rollout restart` does.
    Restart(RestartArgs),
    /// Set a microservice's replica count (the scale subresource, as `kubectl scale`).
    Scale(ScaleArgs),
    /// Describe a microservice: its workload, pods (last termination of a crashing container),
    /// events, routes and ports (the dashboard's `d` view, printed once).
    Describe(DescribeArgs),
    /// Run a command in a microservice's pod (like `hasura microservice exec` and `kubectl
    /// exec`); the remote exit code becomes ours.
    Exec(ExecArgs),
}

#[derive(Debug, Args)]
pub struct DescribeArgs {
    #[command(flatten)]
    pub target: MicroserviceArg,

    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = DescribeFormat::Text)]
    pub output: DescribeFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DescribeFormat {
    /// Sections of text, as the dashboard shows them.
    Text,
    /// One object with stable field names.
    Json,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub target: MicroserviceArg,

    /// The pod (default: the first running one, by name).
    #[arg(short = 'p', long = "pod", value_name = "POD")]
    pub pod: Option<String>,

    /// The container (default: the one the pod's kubectl.kubernetes.io/default-container
    /// annotation names, else the first). Long form only: `-c` is the cluster alias, as in the
    /// Hasura CLI.
    #[arg(long, value_name = "C")]
    pub container: Option<String>,

    /// Pass stdin to the command.
    #[arg(short = 'i', long)]
    pub stdin: bool,

    /// Give the command a terminal (stdin must be one).
    #[arg(short = 't', long)]
    pub tty: bool,

    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RestartArgs {
    #[command(flatten)]
    pub target: MicroserviceArg,
}

#[derive(Debug, Args)]
pub struct ScaleArgs {
    #[command(flatten)]
    pub target: MicroserviceArg,

    /// The number of pods wanted.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(0..))]
    pub replicas: i32,
}

/// How the kubeconfig `demo-cluster` writes signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoAuth {
    /// A bearer token in the kubeconfig.
    Token,
    /// A client certificate signed by the demo's CA (the user is its CN).
    Cert,
    /// An exec plugin (this binary) that prints short-lived tokens; never needs the person.
    Exec,
    /// An exec plugin that first asks, on the terminal, for a device-login style answer.
    ExecInteractive,
    /// An OIDC auth-provider whose id-token is refreshed at the demo's own issuer.
    Oidc,
}

#[derive(Debug, Args)]
pub struct DemoCredentialArgs {
    /// The user the token names.
    #[arg(long, default_value = "admin")]
    pub user: String,

    /// How long the token is good for, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    pub ttl: u64,

    /// Wait this long before answering (as a slow sign-in would), in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub delay_ms: u64,

    /// Ask on the terminal first (stderr), and read one line of answer (stdin).
    #[arg(long)]
    pub interactive: bool,

    /// Append `start` and `answered` lines here at every run (tests count and order them).
    #[arg(long, value_name = "PATH")]
    pub runs_file: Option<PathBuf>,
}

#[cfg(feature = "demo")]
#[derive(Debug, Args)]
pub struct DemoClusterArgs {
    /// The cluster's name: its kubeconfig context and cluster, and its route domain
    /// (`<name>.hasura-app.io`). The demo project (assets/demo-project) calls gram29 `dev` and
    /// stg41 `staging`.
    #[arg(long, default_value = crate::demo::kubeconfig::CONTEXT)]
    pub name: String,

    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,

    /// Write a kubeconfig for the demo cluster to this path.
    #[arg(long, value_name = "PATH")]
    pub write_kubeconfig: Option<PathBuf>,

    /// Add N generated custom microservices (two pods each).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub scale: usize,

    /// Pods write a log line every second.
    #[arg(long)]
    pub churn: bool,

    /// Only the seed's microservices (no Services of other shapes), so `list` matches the seed.
    #[arg(long)]
    pub seed_only: bool,

    /// Stop serving v1 Endpoints (deprecated since 1.33): clients must use EndpointSlices.
    #[arg(long)]
    pub no_endpoints: bool,

    /// Serve no metrics.k8s.io (a cluster without metrics-server): `kubectl top` says the
    /// Metrics API is not available and the dashboard shows no CPU or memory.
    #[arg(long)]
    pub no_metrics: bool,

    /// How the written kubeconfig signs in.
    #[arg(long, value_enum, default_value_t = DemoAuth::Token)]
    pub auth: DemoAuth,

    /// The user the written kubeconfig signs in as: `admin` may do everything, `developer` what
    /// the demo's Roles allow (read and port-forward in default, read in hasura).
    #[arg(long, default_value = "admin")]
    pub user: String,

    /// With `--auth exec`: how long each token is good for, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    pub token_ttl: u64,

    /// With `--auth exec`: how long the plugin takes to answer, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub plugin_delay_ms: u64,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only one section: `hasura`, `user`, or a namespace name.
    #[arg(short = 'n', long = "namespace", value_name = "NS")]
    pub namespace: Option<String>,

    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// The seed's layout: NAME, STATUS, INTERNAL-URL, EXTERNAL-URL.
    Table,
    /// Adds REPLICAS, PORTS and AGE.
    Wide,
    /// An array of objects with stable field names.
    Json,
}

/// Which microservice a command acts on: `NAME [-n hasura|user|NS]`, as in the Hasura CLI.
#[derive(Debug, Args)]
pub struct MicroserviceArg {
    /// The microservice (its Service name).
    pub name: String,

    /// `hasura`, `user` (the default), or a namespace name.
    #[arg(
        short = 'n',
        long = "namespace",
        value_name = "NS",
        default_value = "user"
    )]
    pub namespace: String,
}

#[derive(Debug, Args)]
pub struct PortForwardArgs {
    #[command(flatten)]
    pub target: MicroserviceArg,

    /// Local port (default: the remote port, 8000+port below 1024, +1000 if taken).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub local_port: Option<u16>,

    /// Remote port: a Service port or container port (default: the port named http, else the first).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub remote_port: Option<u16>,

    /// Both at once, as LOCAL:REMOTE.
    #[arg(long, value_name = "L:R", value_parser = parse_port_pair, conflicts_with_all = ["local_port", "remote_port"])]
    pub port: Option<(u16, u16)>,

    /// Always forward to this pod (no re-selection when it goes away).
    #[arg(short = 'p', long = "pod", value_name = "POD")]
    pub pod: Option<String>,

    /// Address to listen on; anything but loopback exposes the microservice to your network.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub address: std::net::IpAddr,

    /// Gateway mode: every HTTP request from this machine goes out with X-Hasura-Role (this role),
    /// X-Hasura-User-Id and X-Hasura-Allowed-Roles, replacing the client's own X-Hasura-* headers,
    /// as the Hasura gateway does (e.g. anonymous, admin).
    #[arg(long, value_name = "ROLE")]
    pub as_role: Option<String>,

    /// The X-Hasura-User-Id gateway mode sends (default 0).
    #[arg(long, value_name = "ID", requires = "as_role")]
    pub user_id: Option<String>,

    /// In gateway mode, let the client's own X-Hasura-* headers win (only missing ones are added).
    #[arg(long, requires = "as_role")]
    pub keep_client_headers: bool,

    /// In gateway mode, append one JSON line per request to FILE (method, path, status, time,
    /// sizes, role, user id); no bodies unless --log-bodies.
    #[arg(long, value_name = "FILE", requires = "as_role")]
    pub log_requests: Option<std::path::PathBuf>,

    /// With --log-requests, also write each request's and response's headers and the first
    /// 64 KiB of each body.
    #[arg(long, requires = "log_requests")]
    pub log_bodies: bool,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    #[command(flatten)]
    pub target: MicroserviceArg,

    /// Keep printing new lines, including those of pods that start later.
    #[arg(short = 'f', long)]
    pub follow: bool,

    /// Only the last N lines of each pod.
    #[arg(long, value_name = "N")]
    pub tail: Option<u32>,

    /// Only this pod (printed without a prefix).
    #[arg(short = 'p', long = "pod", value_name = "POD")]
    pub pod: Option<String>,

    /// The container, for pods with more than one (default: the one the pod's
    /// kubectl.kubernetes.io/default-container annotation names, else the first). Long form
    /// only: `-c` is the cluster alias, as in the Hasura CLI.
    #[arg(long, value_name = "C")]
    pub container: Option<String>,

    /// Every container of each pod, each line prefixed [pod/container].
    #[arg(long, conflicts_with = "container")]
    pub all_containers: bool,
}

#[derive(Debug, Args)]
pub struct OpenArgs {
    #[command(flatten)]
    pub target: MicroserviceArg,

    /// A path to open under the external URL, e.g. /v1/version.
    #[arg(short = 'p', long = "path", value_name = "PATH")]
    pub path: Option<String>,
}

/// `8080:80` into (8080, 80); both ports 1 to 65535.
pub fn parse_port_pair(text: &str) -> Result<(u16, u16), String> {
    let (local, remote) = text
        .split_once(':')
        .ok_or_else(|| format!("expected LOCAL:REMOTE, got {text:?}"))?;
    let port = |p: &str| match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("{p:?} is not a port (1 to 65535)")),
        Ok(n) => Ok(n),
    };
    Ok((port(local)?, port(remote)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_pairs() {
        assert_eq!(parse_port_pair("6432:5432"), Ok((6432, 5432)));
        for bad in ["6432", "0:80", "80:65536", "a:b", ":80", "80:"] {
            assert!(parse_port_pair(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
