//! Authorization as Kubernetes RBAC decides it, for the Roles, ClusterRoles and their bindings
//! in the store: a request's attributes (verb, group, resource, subresource, name, namespace)
//! are taken from its method and path as the API server's `RequestInfoFactory` takes them, and
//! allowed when any rule of any binding that applies to the user allows them. Members of
//! `system:masters` may do everything, as on a real cluster; every authenticated user may ask
//! who they are and what they may do (the `system:basic-user` role) and read discovery.
//!
//! Sources: apiserver `pkg/endpoints/request/requestinfo.go`; `plugin/pkg/auth/authorizer/rbac/
//! rbac.go` (`RuleAllows`) and `pkg/apis/rbac/v1/evaluation_helpers.go`; the 403 wording from
//! apimachinery `pkg/api/errors` (`NewForbidden`) and apiserver `responsewriters/errors.go`.

use serde_json::{Value, json};

use super::identity::Identity;
use super::kinds::Kind;
use super::store::{Narrow, Store};

/// What a resource request asks to do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attributes {
    pub verb: String,
    /// `""` for the core group.
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
    /// Empty for cluster-scoped requests.
    pub namespace: String,
}

/// `list statefulsets.apps in hasura`, `create pods/portforward in default`.
impl std::fmt::Display for Attributes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.verb, self.resource_path())?;
        if !self.group.is_empty() {
            write!(f, ".{}", self.group)?;
        }
        if !self.namespace.is_empty() {
            write!(f, " in {}", self.namespace)?;
        }
        Ok(())
    }
}

impl Attributes {
    /// `pods` or `pods/log`, as rules name resources.
    fn resource_path(&self) -> String {
        if self.subresource.is_empty() {
            self.resource.clone()
        } else {
            format!("{}/{}", self.resource, self.subresource)
        }
    }
}

/// The attributes of a request to `path`; `None` for non-resource paths (`/api`, `/version`),
/// which every authenticated user may read (`system:discovery`).
pub fn attributes(
    method: &str,
    path: &str,
    query: &std::collections::HashMap<String, String>,
) -> Option<Attributes> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, rest) = match parts.as_slice() {
        ["api", _version, rest @ ..] => ("", rest),
        ["apis", group, _version, rest @ ..] => (*group, rest),
        _ => return None,
    };
    if rest.is_empty() {
        return None;
    }
    let mut attrs = Attributes {
        group: group.to_string(),
        ..Attributes::default()
    };
    let rest = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => {
            attrs.namespace = ns.to_string();
            rest
        }
        // `/api/v1/namespaces/<ns>` is the namespace itself, in its own namespace.
        ["namespaces", ns] => {
            attrs.namespace = ns.to_string();
            rest
        }
        _ => rest,
    };
    attrs.resource = rest[0].to_string();
    if let Some(name) = rest.get(1) {
        attrs.name = name.to_string();
    }
    if let Some(sub) = rest.get(2) {
        attrs.subresource = sub.to_string();
    }
    attrs.verb = match method {
        "POST" => "create",
        "PUT" => "update",
        "PATCH" => "patch",
        "DELETE" if attrs.name.is_empty() => "deletecollection",
        "DELETE" => "delete",
        _ if !attrs.name.is_empty() => "get",
        _ if query
            .get("watch")
            .is_some_and(|w| w != "false" && w != "0" && !w.is_empty()) =>
        {
            "watch"
        }
        _ => "list",
    }
    .to_string();
    // A list or watch of one name (`fieldSelector=metadata.name=x`) is authorized for that name.
    if attrs.name.is_empty()
        && let Some(selector) = query.get("fieldSelector")
        && let Some(name) = selector.split(',').find_map(|t| {
            t.strip_prefix("metadata.name=")
                .or(t.strip_prefix("metadata.name=="))
        })
    {
        attrs.name = name.to_string();
    }
    Some(attrs)
}

/// Why a request was allowed (`RoleBinding "dev/hasura" of Role "dev" to User "dev"`), or not.
pub enum Decision {
    Allowed(String),
    Denied,
}

/// Decides a request as RBAC would.
pub fn authorize(store: &Store, user: &Identity, attrs: &Attributes) -> Decision {
    if user.groups.iter().any(|g| g == "system:masters") {
        return Decision::Allowed(
            "RBAC: allowed by ClusterRoleBinding \"cluster-admin\" of ClusterRole \"cluster-admin\" to Group \"system:masters\"".into(),
        );
    }
    if basic_user_allows(attrs) {
        return Decision::Allowed(
            "RBAC: allowed by ClusterRoleBinding \"system:basic-user\" of ClusterRole \"system:basic-user\" to Group \"system:authenticated\"".into(),
        );
    }
    for binding in bindings(store, user, &attrs.namespace) {
        if binding.rules.iter().any(|rule| rule_allows(rule, attrs)) {
            return Decision::Allowed(format!("RBAC: allowed by {}", binding.describe()));
        }
    }
    Decision::Denied
}

/// The rules that apply to `user` in `namespace`: its bindings' rules, and the basic ones.
pub fn rules(store: &Store, user: &Identity, namespace: &str) -> (Vec<Value>, Vec<Value>) {
    if user.groups.iter().any(|g| g == "system:masters") {
        return (
            vec![json!({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]})],
            vec![json!({"verbs": ["*"], "nonResourceURLs": ["*"]})],
        );
    }
    let mut resource_rules = vec![
        json!({"verbs": ["create"], "apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]}),
        json!({"verbs": ["create"], "apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"]}),
    ];
    for binding in bindings(store, user, namespace) {
        resource_rules.extend(binding.rules.iter().map(|r| {
            let mut r = r.clone();
            // What a rules review reports: the four lists, empty ones left out.
            if let Some(map) = r.as_object_mut() {
                map.retain(|k, v| {
                    matches!(
                        k.as_str(),
                        "verbs" | "apiGroups" | "resources" | "resourceNames"
                    ) && v.as_array().is_some_and(|a| !a.is_empty())
                });
            }
            r
        }));
    }
    let discovery = json!({"verbs": ["get"], "nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"]});
    let public = json!({"verbs": ["get"], "nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"]});
    (resource_rules, vec![discovery, public])
}

/// What every authenticated user may do (`system:basic-user`).
fn basic_user_allows(attrs: &Attributes) -> bool {
    attrs.verb == "create"
        && matches!(
            (attrs.group.as_str(), attrs.resource.as_str()),
            (
                "authorization.k8s.io",
                "selfsubjectaccessreviews" | "selfsubjectrulesreviews"
            ) | ("authentication.k8s.io", "selfsubjectreviews")
        )
}

/// A binding that applies to the user, with its role's rules.
struct Binding {
    kind: &'static str,
    name: String,
    namespace: String,
    role_kind: String,
    role: String,
    subject: String,
    rules: Vec<Value>,
}

impl Binding {
    /// As rule.go's `describe` words it.
    fn describe(&self) -> String {
        let name = if self.kind == "RoleBinding" {
            format!("{}/{}", self.name, self.namespace)
        } else {
            self.name.clone()
        };
        format!(
            "{} \"{name}\" of {} \"{}\" to {}",
            self.kind, self.role_kind, self.role, self.subject
        )
    }
}

/// ClusterRoleBindings, and the RoleBindings of `namespace`, whose subjects include the user.
fn bindings(store: &Store, user: &Identity, namespace: &str) -> Vec<Binding> {
    let mut found = Vec::new();
    let everything = |kind, ns| {
        store
            .list(kind, ns, Narrow::Any, None, usize::MAX, |_| true)
            .items
    };
    let mut candidates: Vec<(&'static str, std::sync::Arc<Value>)> =
        everything(Kind::ClusterRoleBinding, None)
            .into_iter()
            .map(|b| ("ClusterRoleBinding", b))
            .collect();
    if !namespace.is_empty() {
        candidates.extend(
            everything(Kind::RoleBinding, Some(namespace))
                .into_iter()
                .map(|b| ("RoleBinding", b)),
        );
    }
    for (kind, binding) in candidates {
        let Some(subject) = matching_subject(&binding["subjects"], user) else {
            continue;
        };
        let role_kind = binding["roleRef"]["kind"].as_str().unwrap_or_default();
        let role_name = binding["roleRef"]["name"].as_str().unwrap_or_default();
        let role = match role_kind {
            "Role" if kind == "RoleBinding" => store.get(Kind::Role, namespace, role_name),
            "ClusterRole" => store.get(Kind::ClusterRole, "", role_name),
            _ => None,
        };
        let Some(role) = role else {
            continue;
        };
        found.push(Binding {
            kind,
            name: binding["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            namespace: namespace.to_string(),
            role_kind: role_kind.to_string(),
            role: role_name.to_string(),
            subject,
            rules: role["rules"].as_array().cloned().unwrap_or_default(),
        });
    }
    found
}

/// The subject that names the user (`User "dev"`, `Group "developers"`), if any.
fn matching_subject(subjects: &Value, user: &Identity) -> Option<String> {
    subjects.as_array()?.iter().find_map(|s| {
        let name = s["name"].as_str()?;
        match s["kind"].as_str()? {
            "User" if name == user.user => Some(format!("User \"{name}\"")),
            "Group" if user.groups.iter().any(|g| g == name) => Some(format!("Group \"{name}\"")),
            "ServiceAccount" => {
                let ns = s["namespace"].as_str()?;
                (user.user == format!("system:serviceaccount:{ns}:{name}"))
                    .then(|| format!("ServiceAccount \"{name}/{ns}\""))
            }
            _ => None,
        }
    })
}

/// `RuleAllows`: verb, group, resource (with subresource) and name all match.
fn rule_allows(rule: &Value, attrs: &Attributes) -> bool {
    let list = |field: &str| -> Vec<&str> {
        rule[field]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect()
    };
    let verbs = list("verbs");
    let groups = list("apiGroups");
    let resources = list("resources");
    let names = list("resourceNames");
    let combined = attrs.resource_path();
    let resource_ok = resources.iter().any(|r| {
        *r == "*"
            || *r == combined
            // `*/log` names the log subresource of every resource.
            || (!attrs.subresource.is_empty() && *r == format!("*/{}", attrs.subresource))
    });
    (verbs.contains(&"*") || verbs.contains(&attrs.verb.as_str()))
        && (groups.contains(&"*") || groups.contains(&attrs.group.as_str()))
        && resource_ok
        && (names.is_empty() || names.contains(&attrs.name.as_str()))
}

/// The 403 `Status` a real API server sends for a denied request.
pub fn forbidden(user: &Identity, attrs: &Attributes) -> Value {
    let qualified = if attrs.group.is_empty() {
        attrs.resource.clone()
    } else {
        format!("{}.{}", attrs.resource, attrs.group)
    };
    let named = if attrs.name.is_empty() {
        qualified
    } else {
        format!("{qualified} \"{}\"", attrs.name)
    };
    let scope = if attrs.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace \"{}\"", attrs.namespace)
    };
    let message = format!(
        "{named} is forbidden: User \"{}\" cannot {} resource \"{}\" in API group \"{}\" {scope}",
        user.user,
        attrs.verb,
        attrs.resource_path(),
        attrs.group
    );
    let mut details = json!({"kind": attrs.resource});
    if !attrs.name.is_empty() {
        details["name"] = json!(attrs.name);
    }
    if !attrs.group.is_empty() {
        details["group"] = json!(attrs.group);
    }
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": "Forbidden", "details": details, "code": 403,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn attrs(method: &str, path: &str, query: &[(&str, &str)]) -> Attributes {
        let query: HashMap<String, String> = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        attributes(method, path, &query).expect("a resource request")
    }

    #[test]
    fn requests_become_attributes_as_the_api_server_reads_them() {
        let list = attrs("GET", "/api/v1/namespaces/hasura/pods", &[]);
        assert_eq!(
            (
                list.verb.as_str(),
                list.resource.as_str(),
                list.namespace.as_str()
            ),
            ("list", "pods", "hasura")
        );
        let watch = attrs(
            "GET",
            "/apis/apps/v1/namespaces/hasura/deployments",
            &[("watch", "true"), ("fieldSelector", "metadata.name=data")],
        );
        assert_eq!(
            (
                watch.verb.as_str(),
                watch.group.as_str(),
                watch.name.as_str()
            ),
            ("watch", "apps", "data")
        );
        let forward = attrs(
            "POST",
            "/api/v1/namespaces/hasura/pods/data-x/portforward",
            &[],
        );
        assert_eq!(
            (
                forward.verb.as_str(),
                forward.subresource.as_str(),
                forward.name.as_str()
            ),
            ("create", "portforward", "data-x")
        );
        let ws = attrs(
            "GET",
            "/api/v1/namespaces/hasura/pods/data-x/portforward",
            &[("ports", "8080")],
        );
        assert_eq!(ws.verb, "get", "a WebSocket upgrade is a GET");
        let ns = attrs("GET", "/api/v1/namespaces/hasura", &[]);
        assert_eq!(
            (
                ns.resource.as_str(),
                ns.name.as_str(),
                ns.namespace.as_str()
            ),
            ("namespaces", "hasura", "hasura")
        );
        assert!(attributes("GET", "/apis", &HashMap::new()).is_none());
        assert!(attributes("GET", "/api/v1", &HashMap::new()).is_none());
    }

    #[test]
    fn rules_match_verbs_groups_resources_subresources_and_names() {
        let rule =
            json!({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods", "pods/log"]});
        let mut a = Attributes {
            verb: "list".into(),
            resource: "pods".into(),
            ..Default::default()
        };
        assert!(rule_allows(&rule, &a));
        a.subresource = "portforward".into();
        a.verb = "create".into();
        assert!(
            !rule_allows(&rule, &a),
            "pods does not cover pods/portforward"
        );
        a.subresource = "log".into();
        a.verb = "get".into();
        assert!(rule_allows(&rule, &a));
        let any_log = json!({"verbs": ["get"], "apiGroups": ["*"], "resources": ["*/log"]});
        assert!(rule_allows(&any_log, &a));
        let named = json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["web-0"]});
        let b = Attributes {
            verb: "get".into(),
            resource: "pods".into(),
            name: "web-1".into(),
            ..Default::default()
        };
        assert!(!rule_allows(&named, &b));
        let apps = Attributes {
            verb: "list".into(),
            group: "apps".into(),
            resource: "deployments".into(),
            ..Default::default()
        };
        assert!(!rule_allows(&rule, &apps), "core rules do not reach apps");
    }

    #[test]
    fn a_denial_is_worded_as_the_api_server_words_it() {
        let dev = Identity {
            user: "dev".into(),
            groups: vec![],
        };
        let list = Attributes {
            verb: "list".into(),
            resource: "pods".into(),
            namespace: "hasura".into(),
            ..Default::default()
        };
        let status = forbidden(&dev, &list);
        assert_eq!(
            status["message"],
            "pods is forbidden: User \"dev\" cannot list resource \"pods\" in API group \"\" in the namespace \"hasura\""
        );
        assert_eq!(status["details"], json!({"kind": "pods"}));
        let forward = Attributes {
            verb: "create".into(),
            resource: "pods".into(),
            subresource: "portforward".into(),
            name: "web-0".into(),
            namespace: "hasura".into(),
            ..Default::default()
        };
        assert_eq!(
            forbidden(&dev, &forward)["message"],
            "pods \"web-0\" is forbidden: User \"dev\" cannot create resource \"pods/portforward\" in API group \"\" in the namespace \"hasura\""
        );
        let deploy = Attributes {
            verb: "get".into(),
            group: "apps".into(),
            resource: "deployments".into(),
            name: "web".into(),
            namespace: "hasura".into(),
            ..Default::default()
        };
        let s = forbidden(&dev, &deploy);
        assert!(
            s["message"]
                .as_str()
                .unwrap()
                .starts_with("deployments.apps \"web\" is forbidden")
        );
        assert_eq!(
            s["details"],
            json!({"kind": "deployments", "name": "web", "group": "apps"})
        );
    }
}
