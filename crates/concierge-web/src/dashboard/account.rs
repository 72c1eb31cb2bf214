//! Choosing a password from a single-use link (invitation or reset), and
//! asking for a reset link.
//!
//! - `GET /account/setup?token=…` shows the form when the link works;
//!   reading it changes nothing. `POST /account/setup` sets the password,
//!   uses up the link (and the user's other open links of that purpose)
//!   and ends every session of the user, in one transaction.
//! - `GET/POST /password/forgot`: the answer is the same whether or not
//!   the address has an account, and takes the same time (the lookup and
//!   the mail happen after the answer). Requests are limited per (address,
//!   client) like logins, and reset mails per account per hour.

use std::net::IpAddr;
use std::time::Duration;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Form, FromRequest, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use concierge_access::{check_password, hash_password, login_key};
use concierge_outbound::human_duration;
use concierge_store::{LinkPurpose, LinkTarget};
use serde::Deserialize;

use super::session::{ATTEMPT_WINDOW, MAX_FAILED_ATTEMPTS, client_ip, foreign_origin};
use super::{PageError, page};
use crate::AppState;

/// Reset mails one account may be sent per [`RESET_MAIL_WINDOW`], whoever
/// asks (so nobody can flood someone's inbox from many networks).
pub(crate) const MAX_RESET_MAILS: i64 = 3;
/// The window of [`MAX_RESET_MAILS`].
pub(crate) const RESET_MAIL_WINDOW: Duration = Duration::from_secs(3600);

const LINK_DEAD: &str = "This link does not work any more: it has expired or has already been used. \
     Ask an admin for a new invitation, or ask for a new password reset link.";

#[derive(Template)]
#[template(path = "dashboard/account_setup.html")]
struct SetupPage<'a> {
    who: &'a str,
    heading: &'a str,
    email: &'a str,
    token: &'a str,
    error: &'a str,
}

#[derive(Template)]
#[template(path = "dashboard/account_message.html")]
struct MessagePage<'a> {
    who: &'a str,
    title: &'a str,
    message: &'a str,
    link_href: &'a str,
    link_text: &'a str,
}

#[derive(Template)]
#[template(path = "dashboard/password_forgot.html")]
struct ForgotPage<'a> {
    who: &'a str,
    email: &'a str,
    error: &'a str,
    notice: &'a str,
}

fn heading(purpose: LinkPurpose) -> &'static str {
    match purpose {
        LinkPurpose::Invite => "Choose your password",
        LinkPurpose::Reset => "Choose a new password",
    }
}

fn link_dead() -> Response {
    page(
        StatusCode::GONE,
        MessagePage {
            who: "",
            title: "Link expired",
            message: LINK_DEAD,
            link_href: "/password/forgot",
            link_text: "Ask for a password reset link",
        }
        .render(),
    )
}

fn setup_form(status: StatusCode, t: &LinkTarget, token: &str, error: &str) -> Response {
    page(
        status,
        SetupPage {
            who: "",
            heading: heading(t.purpose),
            email: &t.email,
            token,
            error,
        }
        .render(),
    )
}

/// Query of `GET /account/setup`.
#[derive(Deserialize)]
pub(crate) struct SetupQuery {
    #[serde(default)]
    token: String,
}

/// `GET /account/setup?token=…`: the password form, when the link works.
pub(crate) async fn setup_form_page(
    State(state): State<AppState>,
    q: Result<Query<SetupQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    let token = q.map(|Query(q)| q.token).unwrap_or_default();
    let Some(target) = state.store.account_link(token.trim()).await? else {
        return Ok(link_dead());
    };
    Ok(setup_form(StatusCode::OK, &target, token.trim(), ""))
}

/// Body of `POST /account/setup`.
#[derive(Deserialize)]
pub(crate) struct SetupForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /account/setup`: sets the password from a working link.
pub(crate) async fn setup(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Result<Response, PageError> {
    if foreign_origin(request.headers()) {
        return Err(PageError::forbidden());
    }
    let Form(form) = Form::<SetupForm>::from_request(request, &state)
        .await
        .map_err(|_| PageError::bad_request("The form was incomplete."))?;
    let token = form.token.trim();
    let Some(target) = state.store.account_link(token).await? else {
        return Ok(link_dead());
    };
    if let Err(e) = check_password(&form.password) {
        let msg = format!("{}.", capitalise(&e.to_string()));
        return Ok(setup_form(
            StatusCode::UNPROCESSABLE_ENTITY,
            &target,
            token,
            &msg,
        ));
    }
    if form.password != form.confirm {
        return Ok(setup_form(
            StatusCode::UNPROCESSABLE_ENTITY,
            &target,
            token,
            "The two passwords are not the same.",
        ));
    }
    let password = form.password;
    // Argon2id is slow on purpose: off the async workers.
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|_| PageError::new(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong."))?
        .map_err(|e| PageError::bad_request(format!("{}.", capitalise(&e.to_string()))))?;
    // Checked again, atomically: of two concurrent uses only one wins.
    let Some(used) = state.store.use_account_link(token, &hash).await? else {
        return Ok(link_dead());
    };
    state
        .store
        .audit(
            Some(used.user_id),
            "user.password_set",
            None,
            &serde_json::json!({ "via": used.purpose.as_str(), "link_id": used.link_id }),
        )
        .await?;
    Ok(page(
        StatusCode::OK,
        MessagePage {
            who: "",
            title: "Password set",
            message: "Your password is set, and any other sessions of your account have ended. \
                      You can sign in now.",
            link_href: "/login",
            link_text: "Sign in",
        }
        .render(),
    ))
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `GET /password/forgot`.
pub(crate) async fn forgot_form() -> Response {
    page(
        StatusCode::OK,
        ForgotPage {
            who: "",
            email: "",
            error: "",
            notice: "",
        }
        .render(),
    )
}

/// Body of `POST /password/forgot`.
#[derive(Deserialize)]
pub(crate) struct ForgotForm {
    #[serde(default)]
    email: String,
}

/// The rate-limit key of reset requests: like a login's, in a namespace
/// of its own so the two limits do not mix.
fn forgot_key(email: &str, ip: IpAddr) -> String {
    format!("forgot|{}", login_key(email, ip))
}

/// `POST /password/forgot`: answers the same for every address; mails a
/// reset link only to an enabled account, at most [`MAX_RESET_MAILS`] an
/// hour.
pub(crate) async fn forgot(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Result<Response, PageError> {
    if foreign_origin(request.headers()) {
        return Err(PageError::forbidden());
    }
    let ip = client_ip(request.extensions());
    let Form(form) = Form::<ForgotForm>::from_request(request, &state)
        .await
        .map_err(|_| PageError::bad_request("The form was incomplete."))?;
    let email = form.email.trim().to_owned();
    let again = |status, error: &str, notice: &str| {
        page(
            status,
            ForgotPage {
                who: "",
                email: &email,
                error,
                notice,
            }
            .render(),
        )
    };
    // Judged on the input alone: says nothing about accounts.
    if concierge_core::message::EmailAddress::parse(&email).is_err() || email.len() > 320 {
        return Ok(again(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter the email address of your account.",
            "",
        ));
    }
    let key = forgot_key(&email, ip);
    let store = &state.store;
    if store.recent_failed_attempts(&key, ATTEMPT_WINDOW).await? >= MAX_FAILED_ATTEMPTS {
        return Ok(again(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests. Wait a few minutes before trying again.",
            "",
        ));
    }
    store.record_login_attempt(&key).await?;
    // After the answer, so that its timing says nothing either.
    let bg = state.clone();
    let address = email.clone();
    tokio::spawn(async move {
        if let Err(e) = send_reset(&bg, &address).await {
            tracing::warn!(error = %e, "password reset mail not queued");
        }
    });
    let valid = human_duration(state.mailer.link_valid_for(LinkPurpose::Reset));
    let notice = format!(
        "If {email} belongs to an account, we have sent it a link to choose a new password. \
         The link works once, for {valid}. Check your inbox (and spam folder)."
    );
    Ok(again(StatusCode::OK, "", &notice))
}

/// Queues a reset mail for the enabled account with this address, if any
/// and if it has not had [`MAX_RESET_MAILS`] within the hour.
async fn send_reset(
    state: &AppState,
    email: &str,
) -> Result<(), concierge_outbound::OutboundError> {
    let store = &state.store;
    let Some(found) = store.find_user_by_email(email).await? else {
        return Ok(());
    };
    let user = found.user;
    if user.disabled_at.is_some() {
        return Ok(());
    }
    let sent = match state
        .mailer
        .send_account_link(
            user.id,
            &user.email,
            &user.name,
            LinkPurpose::Reset,
            Some((MAX_RESET_MAILS, RESET_MAIL_WINDOW)),
        )
        .await
    {
        Ok(sent) => sent,
        // Disabled in between: nothing to send.
        Err(concierge_outbound::OutboundError::Store(concierge_store::StoreError::NotFound)) => {
            false
        }
        Err(e) => return Err(e),
    };
    if !sent {
        tracing::info!(user = %user.id, "no reset mail: the account had its hourly share");
        return Ok(());
    }
    store
        .audit(
            None,
            "user.password_reset_requested",
            None,
            &serde_json::json!({ "user_id": user.id }),
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgot_keys_are_separate_from_login_keys() {
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(forgot_key("A@B.c", ip), "forgot|a@b.c|192.0.2.1");
        assert_ne!(forgot_key("a@b.c", ip), login_key("a@b.c", ip));
    }

    #[test]
    fn messages_start_with_a_capital() {
        assert_eq!(capitalise("a password"), "A password");
        assert_eq!(capitalise(""), "");
    }
}
