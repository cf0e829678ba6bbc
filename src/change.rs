//! Changes to the cluster that a person asks for: restart a workload (what `kubectl rollout
//! restart` does: the template's `kubectl.kubernetes.io/restartedAt` annotation, by strategic
//! merge patch) and scale it (a merge patch of the `scale` subresource, as `kubectl scale`).
//! Each is refused in read-only mode, asked of the API server first (a SelfSubjectAccessReview
//! for the verb kubectl's request needs), so a `no` is one line instead of a failed attempt, and
//! written to the log with who, what and when.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

use crate::access::{AccessCache, Question};
use crate::model::objects::WorkloadKind;

/// What to do to a workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Restart,
    Scale(i32),
}

impl Change {
    /// The verb and subresource (`""` for none) kubectl's request for it is authorized as.
    fn permission(self) -> (&'static str, &'static str) {
        match self {
            Change::Restart => ("patch", ""),
            Change::Scale(_) => ("patch", "scale"),
        }
    }

    fn word(self) -> &'static str {
        match self {
            Change::Restart => "restart",
            Change::Scale(_) => "scale",
        }
    }
}

/// The workload a change is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workload {
    pub kind: WorkloadKind,
    pub namespace: String,
    pub name: String,
}

impl Workload {
    fn plural(&self) -> &'static str {
        match self.kind {
            WorkloadKind::Deployment => "deployments",
            WorkloadKind::StatefulSet => "statefulsets",
        }
    }

    /// `deployment.apps/data`, as kubectl names it in what it prints.
    pub fn kubectl_name(&self) -> String {
        let kind = match self.kind {
            WorkloadKind::Deployment => "deployment",
            WorkloadKind::StatefulSet => "statefulset",
        };
        format!("{kind}.apps/{}", self.name)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChangeError {
    #[error("read-only mode: {0} is off (started with --read-only or HASURA_TUI_READ_ONLY=1)")]
    ReadOnly(&'static str),
    #[error(
        "not allowed: you may not {verb} {resource} in namespace {namespace} (asked the API server)"
    )]
    Forbidden {
        verb: &'static str,
        resource: String,
        namespace: String,
    },
    #[error("{0}")]
    Api(String),
}

/// Who is asking (the kubeconfig context), for the log.
pub struct Actor<'a> {
    pub context: &'a str,
    pub read_only: bool,
}

/// Carries out `change` on `workload`, after the checks; returns what kubectl would print
/// (`deployment.apps/data restarted`).
pub async fn apply(
    client: &kube::Client,
    access: &AccessCache,
    actor: &Actor<'_>,
    workload: &Workload,
    change: Change,
) -> Result<String, ChangeError> {
    if actor.read_only {
        return Err(ChangeError::ReadOnly(change.word()));
    }
    let (verb, subresource) = change.permission();
    let plural = workload.plural();
    // kubectl's request: PATCH /apis/apps/v1/namespaces/NS/deployments/NAME[/scale].
    let question = Question::new(&workload.namespace, verb, "apps", plural)
        .subresource(subresource)
        .named(&workload.name);
    if !access.allowed(client, &question).await {
        let resource = match subresource {
            "" => plural.to_string(),
            sub => format!("{plural}/{sub}"),
        };
        return Err(ChangeError::Forbidden {
            verb,
            resource,
            namespace: workload.namespace.clone(),
        });
    }
    let result = match workload.kind {
        WorkloadKind::Deployment => send::<Deployment>(client, workload, change).await,
        WorkloadKind::StatefulSet => send::<StatefulSet>(client, workload, change).await,
    };
    let what = match change {
        Change::Restart => "restarted".to_string(),
        Change::Scale(n) => format!("scaled to {n}"),
    };
    let user = user_name(client).await;
    match &result {
        Ok(()) => tracing::info!(
            target: "hasura_tui::audit",
            user,
            context = actor.context,
            namespace = %workload.namespace,
            workload = %workload.kubectl_name(),
            "{what}"
        ),
        Err(e) => tracing::warn!(
            target: "hasura_tui::audit",
            user,
            context = actor.context,
            namespace = %workload.namespace,
            workload = %workload.kubectl_name(),
            "{} failed: {e}", change.word()
        ),
    }
    result?;
    let done = match change {
        Change::Restart => "restarted",
        Change::Scale(_) => "scaled",
    };
    Ok(format!("{} {done}", workload.kubectl_name()))
}

/// Who the API server says we are (a SelfSubjectReview, what `kubectl auth whoami` asks);
/// `unknown` where it cannot say (before Kubernetes 1.28, or not allowed).
pub(crate) async fn user_name(client: &kube::Client) -> String {
    let api: Api<SelfSubjectReview> = Api::all(client.clone());
    match api
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
    {
        Ok(review) => review
            .status
            .and_then(|s| s.user_info)
            .and_then(|u| u.username)
            .unwrap_or_else(|| "unknown".into()),
        Err(e) => {
            tracing::debug!("whoami not answered: {e}");
            "unknown".into()
        }
    }
}

async fn send<K>(
    client: &kube::Client,
    workload: &Workload,
    change: Change,
) -> Result<(), ChangeError>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned,
    K::DynamicType: Default,
{
    let api: Api<K> = Api::namespaced(client.clone(), &workload.namespace);
    let params = PatchParams::default();
    let sent = match change {
        Change::Restart => {
            // kubectl's ObjectRestarter: the annotation holds the time, RFC 3339.
            let now = Timestamp::now();
            let now = Timestamp::from_second(now.as_second()).unwrap_or(now);
            let patch = json!({"spec": {"template": {"metadata": {"annotations": {
                "kubectl.kubernetes.io/restartedAt": now.to_string()
            }}}}});
            api.patch(&workload.name, &params, &Patch::Strategic(patch))
                .await
                .map(drop)
        }
        Change::Scale(replicas) => {
            let patch = json!({"spec": {"replicas": replicas}});
            api.patch_scale(&workload.name, &params, &Patch::Merge(patch))
                .await
                .map(drop)
        }
    };
    sent.map_err(|e| match e {
        kube::Error::Api(status) => {
            ChangeError::Api(format!("{} ({})", status.message, status.code))
        }
        other => ChangeError::Api(other.to_string()),
    })
}
