//! `GET /keys` and `GET /keys/allowed_signers`: the public keys, open like `/health` (public
//! keys are public, and a verifier without an API key needs them most).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bridge_core::signature::STAMP_NAMESPACE;
use chrono::SecondsFormat;
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::App;
use crate::envelope::Success;
use crate::keys::PublishedKey;

/// One public key.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct KeyData {
    /// `SHA256:…` fingerprint (what `ssh-keygen -l` prints).
    id: String,
    /// Always `ssh-ed25519`.
    algorithm: String,
    /// The key in OpenSSH form (`ssh-ed25519 AAAA…`).
    public_key: String,
    /// `active` (signs new stamps) or `retired` (verifies old ones).
    status: &'static str,
    /// When the key file was written.
    created: Option<String>,
}

impl From<&PublishedKey> for KeyData {
    fn from(k: &PublishedKey) -> Self {
        Self {
            id: k.id().to_string(),
            algorithm: k.public.algorithm().to_string(),
            public_key: k
                .public
                .to_openssh()
                .expect("an Ed25519 public key always encodes"),
            status: k.status.as_str(),
            created: k
                .created
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        }
    }
}

/// `data` of `GET /keys`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct KeysData {
    /// The principal of the stamp keys in `allowed_signers`.
    identity: String,
    /// The SSHSIG namespace of stamp signatures.
    namespace: &'static str,
    /// Stamp keys, the active one first.
    keys: Vec<KeyData>,
    /// The key that signs log checkpoints.
    log_key: Option<KeyData>,
    /// The log's origin, when configured.
    log_origin: Option<String>,
}

/// `GET /keys`.
#[utoipa::path(get, path = "/keys", responses((status = 200, description = "stamp keys (active and retired) and the log key", body = KeysData)))]
pub(crate) async fn keys(State(app): State<App>) -> Success<KeysData> {
    let k = &app.keys;
    Success::ok(KeysData {
        identity: k.identity().to_owned(),
        namespace: STAMP_NAMESPACE,
        keys: k.stamp_keys().iter().map(KeyData::from).collect(),
        log_key: k.log_key().map(KeyData::from),
        log_origin: k.log_origin().map(str::to_owned),
    })
}

/// `GET /keys/allowed_signers`: the OpenSSH file, for `ssh-keygen -Y verify -f` and
/// `omninode-bridge verify --trust`.
#[utoipa::path(get, path = "/keys/allowed_signers", responses((status = 200, description = "the OpenSSH allowed_signers file of the stamp keys", content_type = "text/plain")))]
pub(crate) async fn allowed_signers(State(app): State<App>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        app.keys.keyring().allowed_signers(),
    )
        .into_response()
}
