//! The one route-level layer of the protected routes: tags the route, authenticates the
//! caller and spends a token of its rate limit.
//!
//! One layer rather than three: axum clones a route's whole stack of boxed services on each
//! call, at every level of it, so each extra layer cost more allocations than its own work
//! (43 allocations per `POST /hash` with three; docs/benchmarks.md, issue 20).

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::auth::authenticate;
use super::context::tagged;
use super::rate_limit::spend;
use crate::app::App;

/// See the module doc. A refused request is answered here, still tagged with its route.
pub(crate) async fn guard(State(app): State<App>, mut req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().cloned();
    let admitted = authenticate(&app, &req).and_then(|principal| {
        spend(&app, &principal)?;
        Ok(principal)
    });
    let resp = match admitted {
        Ok(principal) => {
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Err(refused) => refused.into_response(),
    };
    tagged(resp, route)
}
