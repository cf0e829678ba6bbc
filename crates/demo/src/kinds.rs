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
    /// Made and scaled by the demo's Deployment controller (`replica_sets`).
    ReplicaSet,
    StatefulSet,
    Ingress,
    EndpointSlice,
    /// core/v1 Events, written by the demo's kubelet and controllers (`events`).
    Event,
    /// events.k8s.io/v1 Events: the same stored objects as `Event`, in that group's shape
    /// (`events_v1`).
    EventV1,
    Role,
    RoleBinding,
    ClusterRole,
    ClusterRoleBinding,
    /// The reviews are not stored: a POST is answered from the RBAC rules (`access_review`).
    SelfSubjectAccessReview,
    SelfSubjectRulesReview,
    SelfSubjectReview,
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
    pub const DISCOVERY: GroupVersion = GroupVersion {
        group: "discovery.k8s.io",
        version: "v1",
    };
    pub const RBAC: GroupVersion = GroupVersion {
        group: "rbac.authorization.k8s.io",
        version: "v1",
    };
    pub const AUTHORIZATION: GroupVersion = GroupVersion {
        group: "authorization.k8s.io",
        version: "v1",
    };
    pub const AUTHENTICATION: GroupVersion = GroupVersion {
        group: "authentication.k8s.io",
        version: "v1",
    };
    pub const EVENTS: GroupVersion = GroupVersion {
        group: "events.k8s.io",
        version: "v1",
    };
    /// The groups listed under `/apis` (the core group lives under `/api`).
    pub const NAMED_GROUPS: [GroupVersion; 7] = [
        Self::APPS,
        Self::EVENTS,
        Self::NETWORKING,
        Self::DISCOVERY,
        Self::RBAC,
        Self::AUTHORIZATION,
        Self::AUTHENTICATION,
    ];

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
const CREATE_ONLY: &[&str] = &["create"];

impl Kind {
    pub const ALL: [Kind; 19] = [
        Kind::Namespace,
        Kind::Pod,
        Kind::Service,
        Kind::Endpoints,
        Kind::ConfigMap,
        Kind::Deployment,
        Kind::ReplicaSet,
        Kind::StatefulSet,
        Kind::Ingress,
        Kind::EndpointSlice,
        Kind::Event,
        Kind::EventV1,
        Kind::Role,
        Kind::RoleBinding,
        Kind::ClusterRole,
        Kind::ClusterRoleBinding,
        Kind::SelfSubjectAccessReview,
        Kind::SelfSubjectRulesReview,
        Kind::SelfSubjectReview,
    ];

    pub fn group_version(self) -> GroupVersion {
        match self {
            Kind::Deployment | Kind::ReplicaSet | Kind::StatefulSet => GroupVersion::APPS,
            Kind::Ingress => GroupVersion::NETWORKING,
            Kind::EndpointSlice => GroupVersion::DISCOVERY,
            Kind::EventV1 => GroupVersion::EVENTS,
            Kind::Role | Kind::RoleBinding | Kind::ClusterRole | Kind::ClusterRoleBinding => {
                GroupVersion::RBAC
            }
            Kind::SelfSubjectAccessReview | Kind::SelfSubjectRulesReview => {
                GroupVersion::AUTHORIZATION
            }
            Kind::SelfSubjectReview => GroupVersion::AUTHENTICATION,
            _ => GroupVersion::CORE,
        }
    }

    /// The kind its objects are stored as: events.k8s.io/v1 Events are core/v1 Events, one
    /// storage for both as in the API server (`pkg/registry/events/rest` serves the core
    /// event storage, converting on the way).
    pub fn stored_as(self) -> Kind {
        match self {
            Kind::EventV1 => Kind::Event,
            other => other,
        }
    }

    /// Answered on POST, never stored (the review kinds).
    pub fn is_review(self) -> bool {
        matches!(
            self,
            Kind::SelfSubjectAccessReview | Kind::SelfSubjectRulesReview | Kind::SelfSubjectReview
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Namespace => "Namespace",
            Kind::Pod => "Pod",
            Kind::Service => "Service",
            Kind::Endpoints => "Endpoints",
            Kind::ConfigMap => "ConfigMap",
            Kind::Deployment => "Deployment",
            Kind::ReplicaSet => "ReplicaSet",
            Kind::StatefulSet => "StatefulSet",
            Kind::Ingress => "Ingress",
            Kind::EndpointSlice => "EndpointSlice",
            Kind::Event | Kind::EventV1 => "Event",
            Kind::Role => "Role",
            Kind::RoleBinding => "RoleBinding",
            Kind::ClusterRole => "ClusterRole",
            Kind::ClusterRoleBinding => "ClusterRoleBinding",
            Kind::SelfSubjectAccessReview => "SelfSubjectAccessReview",
            Kind::SelfSubjectRulesReview => "SelfSubjectRulesReview",
            Kind::SelfSubjectReview => "SelfSubjectReview",
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
            Kind::ReplicaSet => "replicasets",
            Kind::StatefulSet => "statefulsets",
            Kind::Ingress => "ingresses",
            Kind::EndpointSlice => "endpointslices",
            Kind::Event | Kind::EventV1 => "events",
            Kind::Role => "roles",
            Kind::RoleBinding => "rolebindings",
            Kind::ClusterRole => "clusterroles",
            Kind::ClusterRoleBinding => "clusterrolebindings",
            Kind::SelfSubjectAccessReview => "selfsubjectaccessreviews",
            Kind::SelfSubjectRulesReview => "selfsubjectrulesreviews",
            Kind::SelfSubjectReview => "selfsubjectreviews",
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
            Kind::ReplicaSet => &["rs"],
            Kind::StatefulSet => &["sts"],
            Kind::Ingress => &["ing"],
            Kind::Event | Kind::EventV1 => &["ev"],
            _ => &[],
        }
    }

    pub fn namespaced(self) -> bool {
        !matches!(
            self,
            Kind::Namespace
                | Kind::ClusterRole
                | Kind::ClusterRoleBinding
                | Kind::SelfSubjectAccessReview
                | Kind::SelfSubjectRulesReview
                | Kind::SelfSubjectReview
        )
    }

    pub fn verbs(self) -> &'static [&'static str] {
        match self {
            k if k.is_review() => CREATE_ONLY,
            Kind::Pod => POD_VERBS,
            Kind::Deployment | Kind::StatefulSet => SCALABLE_VERBS,
            _ => READ_VERBS,
        }
    }

    /// Subresources served, by name (`pods/log`, `deployments/scale`, ...).
    pub fn subresources(self) -> &'static [&'static str] {
        match self {
            Kind::Pod => &["exec", "log", "portforward"],
            Kind::Deployment | Kind::StatefulSet => &["scale"],
            _ => &[],
        }
    }

    /// Whether `kubectl get all` includes it.
    pub fn in_category_all(self) -> bool {
        matches!(
            self,
            Kind::Pod | Kind::Service | Kind::Deployment | Kind::ReplicaSet | Kind::StatefulSet
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
