//! The demo cluster as its own OIDC issuer, for kubeconfigs with an `oidc` auth-provider: the
//! discovery document and a token endpoint that trades a refresh token for a new id-token.
//! Served on the API server's own address (and so under its CA), without authentication, as an
//! identity provider's endpoints are.
//!
//! What the clients ask: client-go's oidc plugin (`plugin/pkg/client/auth/oidc/oidc.go`) reads
//! `token_endpoint` from `<issuer>/.well-known/openid-configuration`, then refreshes with
//! golang.org/x/oauth2 (`grant_type=refresh_token`, client credentials as HTTP Basic or form
//! fields; the answer must have `access_token`, and `id_token` is what it keeps). kube-rs's
//! `oidc` feature does the same.
//!
//! Refresh tokens rotate and are good once, as with Keycloak's "Revoke Refresh Token" (Server
//! Administration Guide, realm settings, Sessions and tokens: "each refresh token can be used only
//! once", `Refresh Token Max Reuse` 0), Okta's rotation with no grace period and Auth0's
//! rotation: a spent one is answered `invalid_grant`. The documents differ on what follows a
//! reuse (Auth0 revokes the whole family); the demo only refuses the spent token.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;

use super::{ApiState, json_response};
use crate::identity::TokenKey;
use crate::kubeconfig::{OIDC_CLIENT_ID, OIDC_CLIENT_SECRET};

/// How long an id-token the issuer hands out is good for.
const ID_TOKEN_TTL: Duration = Duration::from_secs(600);
/// The audience of refresh tokens (never accepted by the API).
pub const REFRESH_AUDIENCE: &str = "refresh";

/// The refresh tokens used so far (each is good once). A demo lives hours at most: the set
/// stays small.
#[derive(Default)]
pub struct SpentRefreshTokens(Mutex<HashSet<String>>);

impl SpentRefreshTokens {
    /// Spends `token`; false when it was spent before.
    fn spend(&self, token: &str) -> bool {
        let mut spent = self.0.lock().unwrap_or_else(|p| p.into_inner());
        spent.insert(token.to_string())
    }
}

/// A refresh token for `user`.
pub fn refresh_token(tokens: &TokenKey, user: &str) -> String {
    tokens.mint(user, REFRESH_AUDIENCE, Duration::from_secs(24 * 3600))
}

pub async fn discovery(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let issuer = issuer(&headers);
    let _ = &state;
    json_response(&json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/demo/oidc/authorize"),
        "token_endpoint": format!("{issuer}/demo/oidc/token"),
        "jwks_uri": format!("{issuer}/demo/oidc/keys"),
        "response_types_supported": ["code", "id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["HS256"],
        "grant_types_supported": ["refresh_token"],
    }))
}

pub async fn token(State(state): State<ApiState>, headers: HeaderMap, body: Bytes) -> Response {
    let form: std::collections::HashMap<String, String> =
        serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let (client, secret) = basic_auth(&headers).unwrap_or_else(|| {
        (
            form.get("client_id").cloned().unwrap_or_default(),
            form.get("client_secret").cloned().unwrap_or_default(),
        )
    });
    if client != OIDC_CLIENT_ID || secret != OIDC_CLIENT_SECRET {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    if form.get("grant_type").map(String::as_str) != Some("refresh_token") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let refresh = form.get("refresh_token").cloned().unwrap_or_default();
    let Some(user) = state.tokens.verify(&refresh, REFRESH_AUDIENCE) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    if !state.refresh_tokens.spend(&refresh) {
        tracing::info!(user = %user.user, "a spent refresh token was presented again");
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let id_token = state.tokens.mint(&user.user, OIDC_CLIENT_ID, ID_TOKEN_TTL);
    json_response(&json!({
        "access_token": id_token,
        "id_token": id_token,
        "token_type": "Bearer",
        "expires_in": ID_TOKEN_TTL.as_secs(),
        "refresh_token": refresh_token(&state.tokens, &user.user),
    }))
}

/// The issuer as the client addressed it (the demo listens on whatever port it got).
fn issuer(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("https://{host}")
}

fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    // RFC 6749 2.3.1: the client credentials are form-urlencoded inside Basic.
    let unescape = |s: &str| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
            .ok()
            .and_then(|mut v| v.pop())
            .map(|(_, v)| v)
            .unwrap_or_else(|| s.to_string())
    };
    Some((unescape(user), unescape(password)))
}

fn oauth_error(code: StatusCode, error: &str) -> Response {
    (code, json_response(&json!({ "error": error }))).into_response()
}
