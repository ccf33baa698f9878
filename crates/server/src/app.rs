//! The router: every route, the OpenAPI document built from the same registrations, and the
//! middleware around them (logging, authentication, request timeout).
//!
//! Routes are only ever added through `utoipa_axum::routes!`, which registers the handler and
//! its `#[utoipa::path]` together, so the router and the document cannot drift apart
//! (`tests/it/openapi.rs` checks it from the outside too). Nothing here binds a socket.

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api_store::{agents, cartridges, goals, growth, images, map, programs, scripts, summary};
use crate::error::{AppError, ErrorLog};
use crate::state::AppState;
use crate::{api_compile, api_execute, api_system, debug, events};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "gvpie runtime API",
        description = "Run PXL pixel programs on the CPU or GPU, browse what the daemon ran, and follow it live. \
            Errors always have the shape {\"error\": {\"kind\", \"message\", \"line\"?, \"column\"?}}. \
            When the server has a token, every request except GET /health needs 'Authorization: Bearer TOKEN'.",
        license(name = "MIT OR Apache-2.0")
    ),
    tags(
        (name = "system", description = "Health, metrics and this document"),
        (name = "execute", description = "Run programs"),
        (name = "events", description = "The live event stream"),
        (name = "scripts", description = "Improvement scripts the daemon runs"),
        (name = "map", description = "The infinite map: every execution, its lineage and image; goals"),
        (name = "programs", description = "Content-addressed programs"),
        (name = "cartridges", description = "Content-addressed cartridges"),
        (name = "agents", description = "The agents (daemons) working on the database"),
        (name = "tools", description = "Editor and debugger support for the web UI: check, step debugger, cartridges"),
    ),
    modifiers(&BearerAuth),
    security((), ("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// Every route, with its OpenAPI description.
fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(api_system::health))
        .routes(routes!(api_system::metrics))
        .routes(routes!(api_system::openapi_json))
        .routes(routes!(api_execute::execute))
        .routes(routes!(api_execute::execute_batch))
        .routes(routes!(events::events))
        .routes(routes!(scripts::list_scripts, scripts::create_script))
        .routes(routes!(scripts::get_script, scripts::update_script, scripts::archive_script))
        .routes(routes!(map::map_page))
        .routes(routes!(map::map_entry))
        .routes(routes!(map::lineage))
        .routes(routes!(images::iteration_image))
        .routes(routes!(images::image))
        .routes(routes!(programs::create_program))
        .routes(routes!(programs::get_program))
        .routes(routes!(cartridges::list_cartridges, cartridges::create_cartridge))
        .routes(routes!(cartridges::get_cartridge))
        .routes(routes!(cartridges::cartridge_png))
        .routes(routes!(goals::list_goals, goals::create_goal))
        .routes(routes!(goals::get_goal, goals::update_goal))
        .routes(routes!(goals::goal_proposals))
        .routes(routes!(summary::summary))
        .routes(routes!(growth::growth))
        .routes(routes!(agents::list_agents))
        .routes(routes!(debug::check))
        .routes(routes!(api_compile::compile))
        .routes(routes!(debug::debug))
        .routes(routes!(debug::cart_pack))
        .routes(routes!(debug::cart_unpack))
}

/// The OpenAPI document of every route of [`app`].
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut document = api_router().into_openapi();
    // Example bodies, parameters and links, so that clients and fuzzers reach real resources.
    crate::openapi_examples::add(&mut document);
    document
}

/// The whole application: build it once and serve it, or call it directly in tests.
pub fn app(state: AppState) -> Router {
    let (router, _document) = api_router().split_for_parts();
    // Layers wrap from the inside out: each `.layer()` becomes the outer one. So a request
    // meets `log_errors` first, then `json_errors`, then `guard` (Host, Origin, sizes), then, for
    // the API, `require_token`, then `request_timeout`, then the route.
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), request_timeout))
        .layer(middleware::from_fn_with_state(state.clone(), crate::auth::require_token))
        // The web UI's static files, added after the token layer: public, no token (see `crate::ui`),
        // but behind the guard like everything else (a rebinding page gets no UI either).
        .merge(crate::ui::router())
        .layer(middleware::from_fn_with_state(state.clone(), crate::guard::guard))
        .layer(middleware::from_fn(crate::guard::json_errors))
        .layer(middleware::from_fn_with_state(state.clone(), log_errors))
        .with_state(state)
}

async fn not_found(request: Request) -> AppError {
    AppError::NotFound(format!("no endpoint at {}; the list is at /api/openapi.json", request.uri().path()))
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}

/// Answers 503 when a request takes longer than the limit (the event stream is exempt).
async fn request_timeout(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.uri().path() == "/api/events" {
        return next.run(request).await;
    }
    let limit = state.limits().request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_elapsed) => AppError::Unavailable {
            message: format!("the request took longer than this server's limit of {} ms", limit.as_millis()),
            retry_after: state.limits().retry_after_secs,
        }
        .into_response(),
    }
}

/// Logs failed requests (the only place that does) and counts responses.
async fn log_errors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let status = response.status();
    state.metrics().record_response(status.as_u16());
    if let Some(ErrorLog(detail)) = response.extensions().get::<ErrorLog>() {
        if status.is_server_error() {
            tracing::error!(%method, %path, status = status.as_u16(), "{detail}");
        } else {
            tracing::debug!(%method, %path, status = status.as_u16(), "{detail}");
        }
    }
    response
}
