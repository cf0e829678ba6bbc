//! The resource kinds the demo cluster serves, with what discovery and routing need to know of
//! each: group/version, plural, kind name, scope, short names and verbs.

/// A resource kind served by the demo cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Namespace,
    Pod,
    Service,
    Endpoints,
    ConfigMap,
    Deployment,
    StatefulSet,
    Ingress,
}

/// An API group/version as it appears in paths (`""` is the core group).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupVersion {
    pub group: &'static str,
    pub version: &'static str,
}

impl GroupVersion {
    pub const CORE: GroupVersion = GroupVersion {
        group: "",
        version: "v1",
    };
    pub const APPS: GroupVersion = GroupVersion {
        group: "apps",
        version: "v1",
    };
    pub const NETWORKING: GroupVersion = GroupVersion {
        group: "networking.k8s.io",
        version: "v1",
    };
    /// The groups listed under `/apis` (the core group lives under `/api`).
    pub const NAMED_GROUPS: [GroupVersion; 2] = [Self::APPS, Self::NETWORKING];

    /// `v1` or `apps/v1`, as written in `apiVersion`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

const READ_VERBS: &[&str] = &["get", "list", "watch"];
const POD_VERBS: &[&str] = &["delete", "get", "list", "watch"];
const SCALABLE_VERBS: &[&str] = &["get", "list", "patch", "update", "watch"];

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Namespace,
        Kind::Pod,
        Kind::Service,
        Kind::Endpoints,
        Kind::ConfigMap,
        Kind::Deployment,
        Kind::StatefulSet,
        Kind::Ingress,
    ];

    pub fn group_version(self) -> GroupVersion {
        match self {
            Kind::Deployment | Kind::StatefulSet => GroupVersion::APPS,
            Kind::Ingress => GroupVersion::NETWORKING,
            _ => GroupVersion::CORE,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Namespace => "Namespace",
            Kind::Pod => "Pod",
            Kind::Service => "Service",
            Kind::Endpoints => "Endpoints",
            Kind::ConfigMap => "ConfigMap",
            Kind::Deployment => "Deployment",
            Kind::StatefulSet => "StatefulSet",
            Kind::Ingress => "Ingress",
        }
    }

    pub fn plural(self) -> &'static str {
        match self {
            Kind::Namespace => "namespaces",
            Kind::Pod => "pods",
            Kind::Service => "services",
            Kind::Endpoints => "endpoints",
            Kind::ConfigMap => "configmaps",
            Kind::Deployment => "deployments",
            Kind::StatefulSet => "statefulsets",
            Kind::Ingress => "ingresses",
        }
    }

    pub fn singular(self) -> String {
        self.name().to_lowercase()
    }

    pub fn short_names(self) -> &'static [&'static str] {
        match self {
            Kind::Namespace => &["ns"],
            Kind::Pod => &["po"],
            Kind::Service => &["svc"],
            Kind::Endpoints => &["ep"],
            Kind::ConfigMap => &["cm"],
            Kind::Deployment => &["deploy"],
            Kind::StatefulSet => &["sts"],
            Kind::Ingress => &["ing"],
        }
    }

    pub fn namespaced(self) -> bool {
        self != Kind::Namespace
    }

    pub fn verbs(self) -> &'static [&'static str] {
        match self {
            Kind::Pod => POD_VERBS,
            Kind::Deployment | Kind::StatefulSet => SCALABLE_VERBS,
            _ => READ_VERBS,
        }
    }

    /// Subresources served, by name (`pods/log`, `deployments/scale`, ...).
    pub fn subresources(self) -> &'static [&'static str] {
        match self {
            Kind::Pod => &["log", "portforward"],
            Kind::Deployment | Kind::StatefulSet => &["scale"],
            _ => &[],
        }
    }

    /// Whether `kubectl get all` includes it.
    pub fn in_category_all(self) -> bool {
        matches!(
            self,
            Kind::Pod | Kind::Service | Kind::Deployment | Kind::StatefulSet
        )
    }

    /// The kind served at `plural` within `gv`, if any.
    pub fn from_path(gv: GroupVersion, plural: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.group_version() == gv && k.plural() == plural)
    }

    pub fn in_group(gv: GroupVersion) -> impl Iterator<Item = Kind> {
        Kind::ALL
            .into_iter()
            .filter(move |k| k.group_version() == gv)
    }
}
