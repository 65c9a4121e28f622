//! API-key authentication. Keys are compared as BLAKE3 digests in constant time, so neither
//! the content nor the length of a configured key leaks through timing.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request};
use subtle::ConstantTimeEq;

use crate::app::App;
use crate::error::ApiError;

/// Who is calling: which key (if auth is on) and what it may touch.
#[derive(Clone, Debug)]
pub(crate) struct Principal {
    /// Index of the matched key; `None` when auth is off.
    key_index: Option<usize>,
    /// Namespaces the key may use; `None` = all.
    namespaces: Option<Arc<[String]>>,
    /// Client address, for rate limiting without auth.
    peer: Option<SocketAddr>,
}

impl Principal {
    /// Fails with 403 unless the key may use `ns`.
    pub(crate) fn check_namespace(&self, ns: &str) -> Result<(), ApiError> {
        match &self.namespaces {
            Some(list) if !list.iter().any(|n| n == ns) => Err(ApiError::namespace_forbidden(ns)),
            _ => Ok(()),
        }
    }

    /// Whether the key is limited to some namespaces.
    pub(crate) fn is_scoped(&self) -> bool {
        self.namespaces.is_some()
    }

    /// The rate-limit bucket of this caller.
    pub(crate) fn bucket(&self) -> String {
        match (self.key_index, self.peer) {
            (Some(i), _) => format!("key:{i}"),
            (None, Some(addr)) => format!("ip:{}", addr.ip()),
            (None, None) => "anonymous".into(),
        }
    }
}

/// Who the request comes from: requires a valid `X-API-Key` when keys are configured.
pub(crate) fn authenticate(app: &App, req: &Request) -> Result<Principal, ApiError> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    if app.config.api_keys.is_empty() {
        Ok(Principal {
            key_index: None,
            namespaces: None,
            peer,
        })
    } else {
        let provided = req
            .headers()
            .get("x-api-key")
            .ok_or_else(|| ApiError::unauthorized("missing X-API-Key header"))?;
        let digest = blake3::hash(provided.as_bytes());
        let mut found = None;
        for (i, key) in app.config.api_keys.iter().enumerate() {
            // Check every key, always: the time taken does not depend on which one matches.
            let eq = blake3::hash(key.secret.as_bytes())
                .as_bytes()
                .ct_eq(digest.as_bytes());
            if bool::from(eq) {
                found = Some(i);
            }
        }
        let i = found.ok_or_else(|| ApiError::unauthorized("invalid API key"))?;
        let namespaces = app.config.api_keys[i]
            .namespaces
            .as_ref()
            .map(|n| Arc::from(n.as_slice()));
        Ok(Principal {
            key_index: Some(i),
            namespaces,
            peer,
        })
    }
}
