//! Forwards that survive a restart: the set of forwards, per kubeconfig context and API server
//! (`default@https://10.0.0.1:6443`: two kubeconfig files that both call their context `default`
//! are two clusters), in `<config dir>/hasura-tui/forwards.json` (`$XDG_CONFIG_HOME` on Linux).
//! Files written before the server was part of the key name the context alone; such an entry is
//! read once for that context and moved under the full key at the next save. Each entry is a
//! `ForwardSpec` as is, with the local port that was actually bound, so a restart asks for the
//! same port and, if it is taken, says so in the row instead of quietly moving elsewhere.
//! Specs are stored whole, so fields added to `ForwardSpec` later come along (new fields need
//! `#[serde(default)]` to read older files). Written atomically (temp file, then rename), 0600.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{ForwardManager, ForwardSpec};

/// Held across a save's read, merge and write (see `ForwardStore::save`).
static SAVING: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("no configuration directory (set XDG_CONFIG_HOME or HOME)")]
    NoConfigDir,
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{0}: not a forwards file: {1}")]
    Parse(PathBuf, serde_json::Error),
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct File {
    /// `context@server` (or, from older files, the context alone) to its forwards.
    #[serde(default)]
    contexts: BTreeMap<String, Vec<ForwardSpec>>,
}

/// The saved forwards of one context of one API server.
#[derive(Debug)]
pub struct ForwardStore {
    path: PathBuf,
    /// `context@server`.
    key: String,
    /// The context alone: how files before the server was part of the key named it.
    legacy: String,
    /// What the file holds for this context, as last read or written (saves only on change).
    saved: Vec<ForwardSpec>,
    /// This store took over the legacy entry: the next save moves it under the full key.
    adopted_legacy: bool,
}

impl ForwardStore {
    /// The store in the user's config directory.
    pub fn for_cluster(context: &str, server: &str) -> Result<Self, PersistError> {
        let dir = dirs::config_dir().ok_or(PersistError::NoConfigDir)?;
        Ok(Self::at(
            dir.join("hasura-tui").join("forwards.json"),
            context,
            server,
        ))
    }

    pub fn at(path: PathBuf, context: &str, server: &str) -> Self {
        ForwardStore {
            path,
            key: format!("{context}@{server}"),
            legacy: context.to_string(),
            saved: Vec::new(),
            adopted_legacy: false,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<File, PersistError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| PersistError::Parse(self.path.clone(), e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(File::default()),
            Err(e) => Err(PersistError::Io(self.path.clone(), e)),
        }
    }

    /// This cluster's saved forwards (none when there is no file yet).
    pub fn load(&mut self) -> Result<Vec<ForwardSpec>, PersistError> {
        let mut file = self.read()?;
        let saved = file.contexts.remove(&self.key);
        // A legacy entry is taken over only by the first server of that context to come: once
        // any `context@server` exists, it may be another server's.
        let prefix = format!("{}@", self.legacy);
        let first = !file.contexts.keys().any(|k| k.starts_with(&prefix));
        let legacy = file
            .contexts
            .remove(&self.legacy)
            .filter(|_| saved.is_none() && first);
        self.adopted_legacy = legacy.is_some();
        // Only what is under the full key counts as saved: an adopted legacy entry is written
        // under it at the next save.
        self.saved = saved.clone().unwrap_or_default();
        Ok(saved.or(legacy).unwrap_or_default())
    }

    /// Saves `specs` for this context if they differ from what was saved; other contexts'
    /// entries are re-read and kept. Returns whether the file was written.
    pub fn save(&mut self, specs: Vec<ForwardSpec>) -> Result<bool, PersistError> {
        if specs == self.saved {
            return Ok(false);
        }
        // Each cluster's saver writes from its own thread: one read-merge-write at a time in
        // this process, or one would write over what another just merged.
        let _one_at_a_time = SAVING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut file = match self.read() {
            Ok(file) => file,
            // Not a forwards file: keep it beside for the person to look at, start a new one.
            Err(PersistError::Parse(path, e)) => {
                let aside = path.with_extension("json.bad");
                tracing::warn!(
                    "{}: not a forwards file ({e}); kept as {}",
                    path.display(),
                    aside.display()
                );
                std::fs::rename(&path, &aside).map_err(|e| PersistError::Io(path.clone(), e))?;
                File::default()
            }
            // Unreadable for now (permissions, I/O): writing would lose other contexts' forwards.
            Err(e) => return Err(e),
        };
        if self.adopted_legacy {
            file.contexts.remove(&self.legacy);
        }
        if specs.is_empty() {
            file.contexts.remove(&self.key);
        } else {
            file.contexts.insert(self.key.clone(), specs.clone());
        }
        // Serializing plain strings, numbers and addresses cannot fail.
        let json = serde_json::to_vec_pretty(&file).expect("forward specs serialize");
        write_atomically(&self.path, &json).map_err(|e| PersistError::Io(self.path.clone(), e))?;
        self.saved = specs;
        Ok(true)
    }
}

/// The manager's forwards, each with the local port it actually bound (when it did), so a
/// restored forward asks for exactly that port.
pub fn running_specs(manager: &ForwardManager) -> Vec<ForwardSpec> {
    manager
        .specs()
        .map(|spec| {
            let mut spec = spec.clone();
            if let Some(local) = manager.view(&spec.key()).and_then(|v| v.status.local) {
                spec.local_port = Some(local.port());
            }
            spec
        })
        .collect()
}

/// Temp file in the same directory (so rename is atomic), created 0600, synced, renamed over.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let temp = dir.join(format!(".forwards.json.{}.tmp", std::process::id()));
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut out = options.open(&temp)?;
        out.write_all(bytes)?;
        out.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A server for the stores of tests.
    pub(in crate::forward) const S: &str = "https://127.0.0.1:6443";

    /// A saved forward to `hasura/<name>` on `port`.
    pub(in crate::forward) fn spec(name: &str, port: u16) -> ForwardSpec {
        let mut spec = ForwardSpec::new("hasura", name);
        spec.local_port = Some(port);
        spec
    }

    #[test]
    fn contexts_are_kept_apart_and_saving_is_atomic_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hasura-tui").join("forwards.json");
        let mut a = ForwardStore::at(path.clone(), "a", S);
        let mut b = ForwardStore::at(path.clone(), "b", S);
        assert_eq!(a.load().unwrap(), vec![]);
        assert!(a.save(vec![spec("data", 8080)]).unwrap());
        assert!(!a.save(vec![spec("data", 8080)]).unwrap(), "unchanged");
        assert!(b.save(vec![spec("auth", 9090)]).unwrap());
        assert_eq!(
            ForwardStore::at(path.clone(), "a", S).load().unwrap(),
            vec![spec("data", 8080)]
        );
        assert_eq!(b.load().unwrap(), vec![spec("auth", 9090)]);
        a.save(vec![]).unwrap();
        assert_eq!(
            ForwardStore::at(path.clone(), "a", S).load().unwrap(),
            vec![]
        );
        assert_eq!(b.load().unwrap(), vec![spec("auth", 9090)]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name() != "forwards.json")
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn the_same_context_name_on_two_servers_keeps_two_sets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("forwards.json");
        let mut one = ForwardStore::at(path.clone(), "default", "https://10.0.0.1:6443");
        let mut two = ForwardStore::at(path.clone(), "default", "https://10.0.0.2:6443");
        one.save(vec![spec("data", 8080)]).unwrap();
        assert_eq!(
            two.load().unwrap(),
            vec![],
            "the other server's forwards are not ours"
        );
        two.save(vec![spec("auth", 8081)]).unwrap();
        assert_eq!(one.load().unwrap(), vec![spec("data", 8080)]);
        // An older file keyed by the context alone: read once, then moved under the full key.
        std::fs::write(
            &path,
            serde_json::to_vec(&serde_json::json!({"contexts": {"old": [spec("data", 9000)]}}))
                .unwrap(),
        )
        .unwrap();
        let mut old = ForwardStore::at(path.clone(), "old", S);
        assert_eq!(old.load().unwrap(), vec![spec("data", 9000)]);
        assert!(old.save(vec![spec("data", 9000)]).unwrap(), "moved");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"old@https://127.0.0.1:6443\""), "{text}");
        assert!(!text.contains("\"old\":"), "{text}");
        // Once one server of a context has its own entry, another server does not take the
        // legacy one, and saving does not remove it.
        std::fs::write(
            &path,
            serde_json::to_vec(&serde_json::json!({"contexts": {
                "shared": [spec("data", 9001)],
                "shared@https://10.0.0.9:6443": [spec("auth", 9002)],
            }}))
            .unwrap(),
        )
        .unwrap();
        let mut late = ForwardStore::at(path.clone(), "shared", S);
        assert_eq!(late.load().unwrap(), vec![]);
        late.save(vec![spec("filestore", 9003)]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("\"shared\":"),
            "the legacy entry stays: {text}"
        );
    }

    #[test]
    fn a_corrupt_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("forwards.json");
        std::fs::write(&path, "not json").unwrap();
        let mut store = ForwardStore::at(path.clone(), "a", S);
        let err = store.load().unwrap_err();
        assert!(err.to_string().contains("forwards.json"), "{err}");
        // Saving keeps the corrupt file beside the new one rather than overwriting it.
        assert!(
            store
                .save(vec![ForwardSpec::new("hasura", "data")])
                .unwrap()
        );
        let kept = dir.path().join("forwards.json.bad");
        assert_eq!(std::fs::read_to_string(kept).unwrap(), "not json");
        let fresh = ForwardStore::at(path, "a", S).load().unwrap();
        assert_eq!(fresh, vec![ForwardSpec::new("hasura", "data")]);
    }

    #[test]
    fn an_unreadable_file_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("forwards.json");
        std::fs::create_dir(&path).unwrap();
        // A directory where the file should be: reading fails with an I/O error, not a parse one.
        let mut store = ForwardStore::at(path.clone(), "a", S);
        assert!(
            store
                .save(vec![ForwardSpec::new("hasura", "data")])
                .is_err()
        );
        assert!(path.is_dir(), "left as it was");
    }
}
