//! Whether these credentials may do something in a namespace, asked of the API server (a
//! SelfSubjectAccessReview, what `kubectl auth can-i create pods --subresource=portforward`
//! asks) before acting: a forward before it binds (`create pods/portforward`), the logs pane
//! before it streams (`get pods/log`), so an action that cannot work says so at once instead of
//! failing on its first connection. Answers are kept for the session; a review that cannot be
//! asked (the API itself refused, or did not answer) lets the action try.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::Api;
use kube::api::PostParams;

/// One question: (namespace, verb, resource, subresource).
type Question = (String, String, String, String);

/// What the API server said, per question.
#[derive(Clone, Default)]
pub struct AccessCache(Arc<Mutex<HashMap<Question, bool>>>);

impl AccessCache {
    /// May the user `verb` `resource/subresource` in `namespace`? Unknown counts as yes.
    pub async fn allowed(
        &self,
        client: &kube::Client,
        namespace: &str,
        verb: &str,
        resource: &str,
        subresource: &str,
    ) -> bool {
        let key = (
            namespace.to_string(),
            verb.to_string(),
            resource.to_string(),
            subresource.to_string(),
        );
        if let Some(known) = self.lock().get(&key) {
            return *known;
        }
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    namespace: Some(namespace.to_string()),
                    verb: Some(verb.to_string()),
                    resource: Some(resource.to_string()),
                    subresource: Some(subresource.to_string()),
                    ..ResourceAttributes::default()
                }),
                ..SelfSubjectAccessReviewSpec::default()
            },
            ..SelfSubjectAccessReview::default()
        };
        let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
        match api.create(&PostParams::default(), &review).await {
            Ok(answer) => {
                let allowed = answer.status.is_some_and(|s| s.allowed);
                self.lock().insert(key, allowed);
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
