//! Reading the kubeconfig as kubectl does (client-go's `ClientConfigLoadingRules`): `--kubeconfig`
//! alone when given (it must exist); else every file of `$KUBECONFIG`, merged, missing ones
//! skipped; else `~/.kube/config`. The first file to name a cluster, user or context wins it
//! whole, and the first non-empty `current-context` wins. Relative paths (certificate-authority,
//! client-certificate, client-key, tokenFile, an exec command with a slash) are resolved against
//! the folder of the file that names them (kube-rs's `Kubeconfig::read_from` does that per file).
//!
//! Sources: client-go `tools/clientcmd/loader.go` (`Load`, `ResolveLocalPaths`) and `merge.go`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use kube::config::Kubeconfig;

use super::ConfigError;

/// A merged kubeconfig and where it came from.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub kubeconfig: Kubeconfig,
    /// The files that were read, as one line for a message ("context x is not in a.yaml, b.yaml").
    pub shown: String,
    /// The file that names each user (the first, which wins it whole): refreshed OIDC tokens
    /// are written back there, as client-go's `ModifyConfig` writes to the user's
    /// `LocationOfOrigin`.
    pub user_files: HashMap<String, PathBuf>,
}

impl Loaded {
    /// A kubeconfig that is not in any file (the demo's), described by `shown`.
    pub fn in_memory(kubeconfig: Kubeconfig, shown: &str) -> Self {
        Loaded {
            kubeconfig,
            shown: shown.to_string(),
            user_files: HashMap::new(),
        }
    }
}

/// Which files to read: `--kubeconfig`, else the `$KUBECONFIG` list (deduplicated, empty entries
/// dropped), else `~/.kube/config`. The flag's file must exist; the others may be missing.
fn candidates(explicit: Option<&Path>, env: Option<&std::ffi::OsStr>) -> (Vec<PathBuf>, bool) {
    if let Some(path) = explicit {
        return (vec![path.to_path_buf()], true);
    }
    let listed: Vec<PathBuf> = env
        .filter(|v| !v.is_empty())
        .map(|v| {
            std::env::split_paths(v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    let files = if listed.is_empty() {
        vec![
            dirs::home_dir()
                .unwrap_or_default()
                .join(".kube")
                .join("config"),
        ]
    } else {
        listed
    };
    let mut seen = HashSet::new();
    (
        files
            .into_iter()
            .filter(|f| seen.insert(f.clone()))
            .collect(),
        false,
    )
}

/// Loads and merges the kubeconfig as kubectl would for these flags and `$KUBECONFIG`.
pub fn load(explicit: Option<&Path>) -> Result<Loaded, ConfigError> {
    let (files, must_exist) = candidates(explicit, std::env::var_os("KUBECONFIG").as_deref());
    let mut merged = Kubeconfig::default();
    let mut read = Vec::new();
    let mut user_files = HashMap::new();
    for file in &files {
        // Absolute, so that every path resolved against its folder is absolute too.
        let file = std::path::absolute(file).unwrap_or_else(|_| file.clone());
        match std::fs::metadata(&file) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => continue,
            Err(e) => {
                return Err(ConfigError::Missing {
                    path: file.display().to_string(),
                    reason: e.kind().to_string(),
                });
            }
            Ok(_) => {}
        }
        if let Some(reason) = unreadable_utf16(&file) {
            return Err(ConfigError::Invalid {
                path: file.display().to_string(),
                reason,
            });
        }
        let mut next = Kubeconfig::read_from(&file).map_err(|e| ConfigError::Invalid {
            path: file.display().to_string(),
            reason: first_line(&e.to_string()),
        })?;
        // client-go: a zero value never overwrites, so an empty current-context does not win.
        if next.current_context.as_deref() == Some("") {
            next.current_context = None;
        }
        // client-go does not compare kind and apiVersion across files; kube's merge would.
        next.kind = None;
        next.api_version = None;
        for user in &next.auth_infos {
            user_files
                .entry(user.name.clone())
                .or_insert_with(|| file.clone());
        }
        merged = merged.merge(next).map_err(|e| ConfigError::Invalid {
            path: file.display().to_string(),
            reason: first_line(&e.to_string()),
        })?;
        read.push(file);
    }
    if read.is_empty() {
        let shown = files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(ConfigError::Missing {
            path: shown,
            reason: "not found".to_string(),
        });
    }
    let shown = read
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Loaded {
        kubeconfig: merged,
        shown,
        user_files,
    })
}

/// A file that starts with a UTF-16 byte-order mark (PowerShell's `>` writes one) but has an
/// odd number of bytes: kube-rs's reader indexes past its end and panics (kube-client 5.0.0
/// `config/file_config.rs` `read_path`, found by the `kubeconfig` fuzz target), so it is
/// refused here first.
fn unreadable_utf16(file: &Path) -> Option<String> {
    let bytes = std::fs::read(file).ok()?;
    let utf16 = bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]);
    (utf16 && bytes.len() % 2 == 1)
        .then(|| "a UTF-16 byte-order mark, but an odd number of bytes".to_string())
}

pub(super) fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_utf16_file_of_odd_length_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        // "ap" in UTF-16 LE after its mark, and one byte more.
        std::fs::write(&path, [0xFF, 0xFE, b'a', 0, b'p', 0, b'i']).unwrap();
        let error = load(Some(&path)).unwrap_err().to_string();
        assert!(error.contains("odd number of bytes"), "{error}");
        // Even, it is read as UTF-16 (and then is not a kubeconfig).
        std::fs::write(&path, [0xFF, 0xFE, b'a', 0, b'p', 0]).unwrap();
        assert!(!load(Some(&path)).unwrap_err().to_string().contains("odd"));
    }

    #[test]
    fn the_flag_wins_else_the_list_deduplicated_else_the_home_file() {
        let (files, strict) = candidates(Some(Path::new("a.yaml")), Some("b:c".as_ref()));
        assert_eq!((files, strict), (vec![PathBuf::from("a.yaml")], true));
        let (files, strict) = candidates(None, Some("b.yaml::c.yaml:b.yaml".as_ref()));
        assert_eq!(
            (files, strict),
            (
                vec![PathBuf::from("b.yaml"), PathBuf::from("c.yaml")],
                false
            )
        );
        let (files, _) = candidates(None, Some("".as_ref()));
        assert!(files[0].ends_with(".kube/config"), "{files:?}");
    }
}
