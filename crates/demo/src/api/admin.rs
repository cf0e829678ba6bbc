//! `/demo/admin/<action>`: the fault controls for other processes (the benchmark harness, a
//! person with curl). Needs the cluster's bearer token, and works even while the API's token is
//! revoked, stalled or stopped-and-restarting, so a drill can always be undone.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::super::{Faults, PodFault};
use super::json_response;
use super::{ApiError, ApiState, bearer};

#[derive(Deserialize, Default)]
#[serde(default)]
struct Args {
    namespace: Option<String>,
    pod: Option<String>,
    microservice: Option<String>,
    fault: Option<String>,
    replicas: Option<u32>,
    on: Option<bool>,
    port: Option<u16>,
    down_seconds: Option<f64>,
}

pub async fn handle(
    State(state): State<ApiState>,
    Path(action): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !state.faults.admin_token_ok(bearer(&headers)) {
        return ApiError::unauthorized().into_response();
    }
    let Some(server) = state.server.get().cloned() else {
        return ApiError::bad_request("server not started").into_response();
    };
    let faults = Faults {
        cluster: state.clone(),
        server,
    };
    match run(&faults, &action, &body).await {
        Ok(value) => json_response(&value),
        Err(message) => ApiError::bad_request(message).into_response(),
    }
}

async fn run(faults: &Faults, action: &str, body: &[u8]) -> Result<serde_json::Value, String> {
    if action == "apply" {
        let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
        let count = faults.apply_manifests(text).map_err(|e| e.to_string())?;
        return Ok(json!({"applied": count}));
    }
    let args: Args = if body.is_empty() {
        Args::default()
    } else {
        serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))?
    };
    let namespace = || args.namespace.clone().ok_or("namespace is required");
    let microservice = || args.microservice.clone().ok_or("microservice is required");
    let on = args.on.unwrap_or(true);
    Ok(match action {
        "counts" => json!(faults.request_counts()),
        "kill-pod" => match &args.pod {
            Some(pod) => json!({"killed": faults.kill_pod(&namespace()?, pod)}),
            None => {
                json!({"killed": faults.kill_one_pod(&namespace()?, &microservice()?).map_err(|e| e.to_string())?})
            }
        },
        "fault" => {
            let fault = match args.fault.as_deref() {
                Some("CrashLoopBackOff") => Some(PodFault::CrashLoopBackOff),
                Some("NotReady") => Some(PodFault::NotReady),
                Some("SidecarCrashLoopBackOff") => Some(PodFault::SidecarCrashLoopBackOff),
                None | Some("none") => None,
                Some(other) => {
                    return Err(format!(
                        "unknown fault {other:?}: CrashLoopBackOff, SidecarCrashLoopBackOff, NotReady or none"
                    ));
                }
            };
            faults
                .set_pod_fault(&namespace()?, &microservice()?, fault)
                .map_err(|e| e.to_string())?;
            json!({"ok": true})
        }
        "scale" => {
            let replicas = args.replicas.ok_or("replicas is required")?;
            faults
                .scale(&namespace()?, &microservice()?, replicas)
                .map_err(|e| e.to_string())?;
            json!({"ok": true})
        }
        "drop-watches" => {
            faults.drop_watches();
            json!({"ok": true})
        }
        "compact" => {
            faults.compact();
            json!({"ok": true})
        }
        "forbid" => {
            faults.forbid_namespace(&namespace()?, on);
            json!({"ok": true})
        }
        "revoke" => {
            faults.revoke_token(on);
            json!({"ok": true})
        }
        "stall" => {
            faults.stall(on);
            json!({"ok": true})
        }
        "restart" => {
            // Answer first, then go down: the caller's own connection is one of those closed.
            let down = Duration::from_secs_f64(args.down_seconds.unwrap_or(0.0).clamp(0.0, 600.0));
            let faults = faults.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                faults.stop_server().await;
                tokio::time::sleep(down).await;
                if let Err(e) = faults.restart_server().await {
                    tracing::error!("demo cluster restart failed: {e}");
                }
            });
            json!({"ok": true})
        }
        "backend" => {
            let port = args.port.ok_or("port is required")?;
            let pod = args.pod.clone().ok_or("pod is required")?;
            let addr = faults
                .backend_address(&namespace()?, &pod, port)
                .await
                .map_err(|e| e.to_string())?;
            json!({"address": addr.to_string()})
        }
        "rv" => json!({"resourceVersion": faults.resource_version()}),
        other => return Err(format!("unknown action {other:?}")),
    })
}
