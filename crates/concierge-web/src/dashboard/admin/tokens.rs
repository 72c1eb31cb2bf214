//! `/admin/tokens`: API tokens, shown once when created, revocable.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use concierge_store::StoreError;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{NoticeQuery, Opt, audited, notice, require_people};
use crate::AppState;
use crate::dashboard::form::{CsrfForm, TokenOnly};
use crate::dashboard::format::fmt_time;
use crate::dashboard::{PageError, Viewer, page};

struct TokenRow {
    id: String,
    name: String,
    owner: String,
    created: String,
    last_used: String,
    state: String,
    revocable: bool,
}

#[derive(Template)]
#[template(path = "dashboard/admin_tokens.html")]
struct TokensPage<'a> {
    who: &'a str,
    csrf: &'a str,
    section: &'a str,
    notice: &'a str,
    error: &'a str,
    /// A token just created: shown this once.
    created: &'a str,
    created_name: &'a str,
    rows: Vec<TokenRow>,
    users: Vec<Opt>,
}

async fn tokens_page(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    notice: &str,
    error: &str,
    created: (&str, &str),
) -> Result<Response, PageError> {
    let rows = state
        .store
        .list_api_tokens()
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id.to_string(),
            revocable: t.revoked_at.is_none(),
            state: match (t.revoked_at, &t.owner) {
                (Some(at), _) => format!("revoked {}", fmt_time(at)),
                (None, None) => "refused: belongs to no user".into(),
                (None, Some(_)) => "live".into(),
            },
            name: t.name,
            owner: t.owner.unwrap_or_default(),
            created: fmt_time(t.created_at),
            last_used: t.last_used_at.map(fmt_time).unwrap_or_default(),
        })
        .collect();
    let users = state
        .store
        .list_users()
        .await?
        .into_iter()
        .filter(|u| u.disabled_at.is_none())
        .map(|u| Opt {
            value: u.id.to_string(),
            label: format!("{} ({})", u.email, u.role),
            selected: u.id == viewer.principal.user_id,
        })
        .collect();
    Ok(page(
        status,
        TokensPage {
            who: viewer.display(),
            csrf: &viewer.csrf,
            section: "tokens",
            notice,
            error,
            created: created.0,
            created_name: created.1,
            rows,
            users,
        }
        .render(),
    ))
}

/// `GET /admin/tokens`.
pub(crate) async fn tokens(
    viewer: Viewer,
    State(state): State<AppState>,
    q: Result<Query<NoticeQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
    let (notice, _) = notice(q);
    tokens_page(&state, &viewer, StatusCode::OK, &notice, "", ("", "")).await
}

/// Body of `POST /admin/tokens`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct TokenForm {
    name: String,
    user: String,
}

/// `POST /admin/tokens`: creates a token acting as the chosen user and
/// shows its secret this once (only its digest is stored).
pub(crate) async fn create_token(
    viewer: Viewer,
    State(state): State<AppState>,
    CsrfForm(f): CsrfForm<TokenForm>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
    let name = f.name.trim();
    let refuse = |status, msg: &'static str| {
        let state = state.clone();
        let viewer = viewer.clone();
        async move { tokens_page(&state, &viewer, status, "", msg, ("", "")).await }
    };
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Give the token a name of 1 to 100 characters.",
        )
        .await;
    }
    let Ok(user_id) = Uuid::parse_str(f.user.trim()) else {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose the user the token acts as.",
        )
        .await;
    };
    let Some(user) = state.store.user_by_id(user_id).await? else {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose the user the token acts as.",
        )
        .await;
    };
    let token = match state.store.create_api_token(name, user_id).await {
        Ok(t) => t,
        Err(StoreError::NotFound) => {
            return refuse(
                StatusCode::CONFLICT,
                "That user is disabled: a token for them would be refused.",
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    };
    state
        .store
        .audit(
            Some(viewer.principal.user_id),
            "token.create",
            None,
            &json!({ "user_id": user_id, "email": user.email, "name": name, "via": "dashboard" }),
        )
        .await?;
    tokens_page(&state, &viewer, StatusCode::OK, "", "", (&token, name)).await
}

/// `POST /admin/tokens/{id}/revoke`.
pub(crate) async fn revoke_token(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    _: CsrfForm<TokenOnly>,
) -> Result<Response, PageError> {
    require_people(&viewer)?;
    let missing = || PageError::new(StatusCode::NOT_FOUND, "There is no such token.");
    let id = Uuid::parse_str(id.trim()).map_err(|_| missing())?;
    let name = state
        .store
        .revoke_api_token(id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => missing(),
            other => other.into(),
        })?;
    audited(
        &state,
        &viewer,
        "token.revoke",
        json!({ "token_id": id, "name": name, "via": "dashboard" }),
        "/admin/tokens?notice=revoked",
    )
    .await
}
