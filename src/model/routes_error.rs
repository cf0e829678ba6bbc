//! Why a gateway file (`routes.yaml`, `domains.yaml`) was rejected: shared by the template
//! rendering (`routes`) and the YAML reading (`gateway_yaml`), so neither needs the other's.

/// Why a gateway file was rejected. Each message starts with the file name and, when known, the
/// line, so the header line can show it as is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RoutesError {
    #[error("{file}: too large ({size} bytes; the limit is {limit} bytes)")]
    TooLarge {
        file: &'static str,
        size: usize,
        limit: usize,
    },
    #[error("{file}: {}unknown template variable `{name}`", at(line))]
    UnknownVariable {
        file: &'static str,
        line: Option<usize>,
        name: String,
    },
    #[error("{file}: {}template error: {message}", at(line))]
    Template {
        file: &'static str,
        line: Option<usize>,
        message: String,
    },
    #[error("{file}: {}{message}", at(line))]
    Yaml {
        file: &'static str,
        line: Option<usize>,
        message: String,
    },
    #[error("{file}: {message}")]
    Invalid { file: &'static str, message: String },
}

fn at(line: &Option<usize>) -> String {
    line.map(|l| format!("line {l}: ")).unwrap_or_default()
}

pub(crate) const ROUTES_FILE: &str = "routes.yaml";
pub(crate) const DOMAINS_FILE: &str = "domains.yaml";
