//! Whether these credentials may do something, asked of the API server (a
//! SelfSubjectAccessReview, what `kubectl auth can-i` asks) before acting: a forward before it
//! binds, the logs pane before it streams, a restart, scale or exec before it is sent, so an
//! action that cannot work says so at once instead of failing on its first request. Each
//! question is the attributes the API server will authorize the real request with (apiserver
//! `pkg/endpoints/request/requestinfo.go`): verb, API group, resource, subresource, namespace
//! and, where the request names one object, its name. RBAC matches every one of them
//! (`plugin/pkg/auth/authorizer/rbac/rbac.go`, `RuleAllows`), so a question without the group
//! of `apps/deployments` is refused by a Role that allows exactly that.
//!
//! Answers are kept for the session; a review that cannot be asked (the API itself refused, or
//! did not answer) lets the action try.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::Api;
use kube::api::PostParams;

/// One question: may I `verb` `resource/subresource` of API `group` in `namespace` (the object
/// `name`, when the request names one)?
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Question {
    pub namespace: String,
    pub verb: &'static str,
    /// `""` for the core group, `"apps"` for deployments and statefulsets.
    pub group: &'static str,
    pub resource: &'static str,
    pub subresource: &'static str,
    /// Empty when the request names no object, or when the action reaches whichever object of
    /// its kind is there (a forward connects to any pod behind its Service).
    pub name: String,
}

impl Question {
    pub fn new(
        namespace: &str,
        verb: &'static str,
        group: &'static str,
        resource: &'static str,
    ) -> Self {
        Question {
            namespace: namespace.to_string(),
            verb,
            group,
            resource,
            subresource: "",
            name: String::new(),
        }
    }

    pub fn subresource(mut self, subresource: &'static str) -> Self {
        self.subresource = subresource;
        self
    }

    pub fn named(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    fn review(&self) -> SelfSubjectAccessReview {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    namespace: some(&self.namespace),
                    verb: some(self.verb),
                    group: Some(self.group.to_string()),
                    resource: some(self.resource),
                    subresource: some(self.subresource),
                    name: some(&self.name),
                    ..ResourceAttributes::default()
                }),
                ..SelfSubjectAccessReviewSpec::default()
            },
            ..SelfSubjectAccessReview::default()
        }
    }
}

/// What the API server said, per question.
#[derive(Clone, Default)]
pub struct AccessCache(Arc<Mutex<HashMap<Question, bool>>>);

impl AccessCache {
    /// May the user do what `question` asks? Unknown counts as yes.
    pub async fn allowed(&self, client: &kube::Client, question: &Question) -> bool {
        if let Some(known) = self.lock().get(question) {
            return *known;
        }
        let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
        match api.create(&PostParams::default(), &question.review()).await {
            Ok(answer) => {
                let allowed = answer.status.is_some_and(|s| s.allowed);
                self.lock().insert(question.clone(), allowed);
                allowed
            }
            Err(e) => {
                tracing::debug!("access review not answered ({e}); trying anyway");
                true
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Question, bool>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_review_carries_the_group_and_the_name() {
        let q = Question::new("hasura", "patch", "apps", "deployments")
            .subresource("scale")
            .named("data");
        let attrs = q.review().spec.resource_attributes.unwrap();
        assert_eq!(attrs.group.as_deref(), Some("apps"));
        assert_eq!(attrs.name.as_deref(), Some("data"));
        assert_eq!(attrs.subresource.as_deref(), Some("scale"));
        let core = Question::new("default", "create", "", "pods").subresource("portforward");
        let attrs = core.review().spec.resource_attributes.unwrap();
        assert_eq!(attrs.group.as_deref(), Some(""));
        assert_eq!(attrs.name, None);
    }
}
