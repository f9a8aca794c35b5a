//! The operator API: `GET /metrics` (Prometheus text), `GET /health` (200 once every
//! chain is caught up, 503 before) and `GET /status` (JSON [`NodeStatus`]). It listens
//! on `api_listen` (loopback by default) and serves nothing that changes state.

use std::net::SocketAddr;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

use crate::metrics::SharedMetrics;
use crate::status::{NodeStatus, SharedStatus};

#[derive(Clone)]
struct Api {
    metrics: SharedMetrics,
    status: SharedStatus,
}

/// Binds `listen` and serves the API on a task; returns the bound address.
pub async fn serve(listen: &str, metrics: SharedMetrics, status: SharedStatus) -> eyre::Result<SocketAddr> {
    use eyre::WrapErr;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .wrap_err_with(|| format!("cannot bind the operator API on {listen} (api_listen): is the port taken?"))?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route("/metrics", get(metrics_text))
        .route("/health", get(health))
        .route("/status", get(status_json))
        .with_state(Api { metrics, status });
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "operator API stopped");
        }
    });
    Ok(bound)
}

async fn metrics_text(State(api): State<Api>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], api.metrics.encode())
}

async fn health(State(api): State<Api>) -> impl IntoResponse {
    if api.status.ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "catching up\n")
    }
}

async fn status_json(State(api): State<Api>) -> Json<NodeStatus> {
    Json(api.status.snapshot())
}
