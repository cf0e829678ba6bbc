//! The few files a demo pod has, made from the pod itself: what `cat` and `ls` read. Their
//! contents follow what the kubelet writes into every container (`/etc/hosts`, the
//! "Kubernetes-managed hosts file", `pkg/kubelet/kubelet_pods.go`; `/etc/resolv.conf` with the
//! namespace's search path and `ndots:5`, `pkg/kubelet/network/dns/dns.go`) and a busybox-based
//! image (`/etc/os-release`).

use super::PodView;

/// The applets in `/bin`, as busybox links them; `sh` is one and `bash` is not.
pub const APPLETS: &[&str] = &[
    "cat", "echo", "env", "false", "hostname", "id", "ls", "printenv", "pwd", "sh", "sleep",
    "stty", "true", "uname", "whoami",
];

const ROOT: &[&str] = &[
    "bin", "dev", "etc", "home", "lib", "proc", "root", "sys", "tmp", "usr", "var",
];
const ETC: &[&str] = &["hostname", "hosts", "os-release", "resolv.conf"];

pub enum Entry {
    File(String),
    Dir(Vec<String>),
}

pub fn lookup(pod: &PodView, path: &str) -> Option<Entry> {
    let path = match path.trim_end_matches('/') {
        "" => "/",
        p => p,
    };
    let names = |list: &[&str]| Entry::Dir(list.iter().map(|s| s.to_string()).collect());
    Some(match path {
        "/" => names(ROOT),
        "/etc" => names(ETC),
        "/bin" => names(APPLETS),
        "/dev" | "/home" | "/lib" | "/proc" | "/root" | "/sys" | "/tmp" | "/usr" | "/var" => {
            Entry::Dir(Vec::new())
        }
        "/etc/hostname" => Entry::File(format!("{}\n", pod.name)),
        "/etc/hosts" => Entry::File(format!(
            "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{}\t{}\n",
            pod.ip, pod.name
        )),
        "/etc/os-release" => Entry::File(
            "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME=\"Alpine Linux v3.20\"\nHOME_URL=\"https://alpinelinux.org/\"\n"
                .to_string(),
        ),
        "/etc/resolv.conf" => Entry::File(format!(
            "search {0}.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n",
            pod.namespace
        )),
        _ => return None,
    })
}

/// Whether `path` names an executable: an applet by its name in `/bin`, `/usr/bin` or `/sbin`.
pub fn executable(path: &str) -> Option<&'static str> {
    let name = ["/bin/", "/usr/bin/", "/sbin/", "/usr/sbin/"]
        .iter()
        .find_map(|dir| path.strip_prefix(dir))
        .unwrap_or(path);
    if path.contains('/') && name == path {
        return None;
    }
    APPLETS.iter().copied().find(|a| *a == name)
}
