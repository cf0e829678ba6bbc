//! The command line, as clap types. Global flags follow kubectl's names.

use std::net::SocketAddr;
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

    /// Namespace of the Hasura platform microservices.
    #[arg(long, global = true, value_name = "NS", default_value = "hasura")]
    pub hasura_namespace: String,

    /// Namespace of your own (custom) microservices.
    #[arg(long, global = true, value_name = "NS", default_value = "default")]
    pub user_namespace: String,

    /// Cluster name for route templates (else hasura-conf's cluster-name, else the kubeconfig's).
    #[arg(long, global = true, value_name = "NAME")]
    pub cluster_name: Option<String>,

    /// A Hasura project directory whose conf/routes.yaml and conf/domains.yaml are used.
    #[arg(long, global = true, value_name = "DIR")]
    pub project: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the microservices and exit (like `hasura microservice list`).
    List(ListArgs),
    /// Run the demo cluster alone, for kubectl, scripts and benchmarks.
    DemoCluster(DemoClusterArgs),
}

#[derive(Debug, Args)]
pub struct DemoClusterArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,

    /// Write a kubeconfig for the demo cluster to this path.
    #[arg(long, value_name = "PATH")]
    pub write_kubeconfig: Option<PathBuf>,

    /// Add N generated custom microservices (two pods each).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub scale: usize,

    /// Pods write a log line every second.
    #[arg(long)]
    pub churn: bool,
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
