//! The pages a person opens from an email — accepting an invitation, confirming the owner's
//! email, resetting a password: plain HTML that works in any browser, in the account's
//! language, with a clear page for every link that cannot be used.
use crate::domain::account::Account;
use crate::domain::invitation::LinkProblem;
use crate::domain::link::LinkPurpose;
use crate::domain::locale::Language;
use crate::http::AppState;
use crate::http::problem::Problem;
use crate::mail::i18n::t;
use crate::service::invitations::{self, AcceptOutcome, LinkState};
use crate::service::links::{self, Opened, ResetOutcome};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use serde::Deserialize;

#[derive(Deserialize, Default)]
struct TokenForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirmation: String,
}

/// A link's query string, as documented.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Read as a `TokenForm`; this only describes it.
pub struct LinkQuery {
    /// The link's token, from the email.
    #[param(min_length = 1)]
    token: String,
}

/// The form a link's page posts to confirm.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct LinkForm {
    #[schema(min_length = 1)]
    token: String,
}

/// The form a link's page posts to set a password.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PasswordForm {
    #[schema(min_length = 1)]
    token: String,
    #[schema(schema_with = crate::http::openapi::field::new_password)]
    password: String,
    /// The same password again.
    password_confirmation: String,
}

/// The form to set a password.
#[utoipa::path(get, path = "/invitations/accept", tag = "invitations", params(LinkQuery),
    responses((status = 200, description = "HTML form", content_type = "text/html"), (status = 404, description = "HTML page: unknown link"), (status = 410, description = "HTML page: expired, used or cancelled link"), (status = 400, description = "HTML page: the link has no token")))]
pub async fn accept_form(State(s): State<AppState>, RawQuery(q): RawQuery) -> Result<Response, Problem> {
    let Some(form) = queried(q) else { return Ok(incomplete_link()) };
    Ok(match invitations::open_link(&s, &form.token).await? {
        LinkState::Usable(found) => form_page(&found.account, first_name(&found), &form.token, None),
        LinkState::Unusable(problem, account) => problem_page(problem, account.as_deref()),
    })
}

/// Submit the password; the member becomes active.
#[utoipa::path(post, path = "/invitations/accept", tag = "invitations",
    request_body(content = PasswordForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "HTML page: done", content_type = "text/html"), (status = 404, description = "HTML page: unknown link"), (status = 422, description = "HTML form with the error"), (status = 410, description = "HTML page: expired, used or cancelled link"), (status = 400, description = "HTML page: the link has no token")))]
pub async fn accept_submit(State(s): State<AppState>, body: Bytes) -> Result<Response, Problem> {
    let Some(form) = posted(&body) else { return Ok(incomplete_link()) };
    Ok(match invitations::accept(&s, &form.token, &form.password, &form.password_confirmation).await? {
        AcceptOutcome::Accepted(found) => {
            let lang = found.account.language;
            let company = found.account.company_name.as_str();
            let body = format!(
                "<p>{}</p>",
                text(&t(
                    lang,
                    "accept-done",
                    &[("company", company), ("email", found.member.as_ref().map_or("", |m| m.email.as_str()))]
                ))
            );
            page(StatusCode::OK, lang, &t(lang, "accept-done-title", &[]), &body)
        }
        AcceptOutcome::InvalidPassword(found, error) => {
            let message = t(found.account.language, &format!("password-{}", error.code), &[]);
            let mut res = form_page(&found.account, first_name(&found), &form.token, Some(&message));
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            res
        }
        AcceptOutcome::Rejected(LinkState::Unusable(problem, account)) => problem_page(problem, account.as_deref()),
        AcceptOutcome::Rejected(LinkState::Usable(found)) => {
            form_page(&found.account, first_name(&found), &form.token, None)
        }
    })
}

/// A form as posted; anything unreadable or too large is an empty form. `None` without a
/// token: there is no link to look up (see `incomplete_link`).
fn posted(body: &Bytes) -> Option<TokenForm> {
    let form: TokenForm = if body.len() <= crate::http::BODY_LIMIT {
        serde_urlencoded::from_bytes(body).unwrap_or_default()
    } else {
        TokenForm::default()
    };
    (!form.token.is_empty()).then_some(form)
}

fn queried(q: Option<String>) -> Option<TokenForm> {
    let form: TokenForm = serde_urlencoded::from_str(q.as_deref().unwrap_or("")).unwrap_or_default();
    (!form.token.is_empty()).then_some(form)
}

/// The page for a link without its token: the same words as for a link that does not work, 400.
fn incomplete_link() -> Response {
    let mut page = link_problem_page(None);
    *page.status_mut() = StatusCode::BAD_REQUEST;
    page
}

/// The page confirming the owner's email: one button, so a mail scanner that follows the link
/// confirms nothing.
#[utoipa::path(get, path = "/account/verify", tag = "accounts", params(LinkQuery),
    responses((status = 200, description = "HTML page with a button", content_type = "text/html"), (status = 404, description = "HTML page: the link does not work (unknown, used or expired)"), (status = 400, description = "HTML page: the link has no token")))]
pub async fn verify_form(State(s): State<AppState>, RawQuery(q): RawQuery) -> Result<Response, Problem> {
    let Some(form) = queried(q) else { return Ok(incomplete_link()) };
    Ok(match links::open(&s, &form.token, LinkPurpose::VerifyEmail).await? {
        Opened::Usable { account, member } => {
            let lang = account.language;
            let intro =
                t(lang, "verify-email-intro", &[("email", member.email.as_str()), ("company", &account.company_name)]);
            let body = format!(
                "<p>{intro}</p><form method=\"post\" action=\"/account/verify\">\
                 <input type=\"hidden\" name=\"token\" value=\"{token}\"><button type=\"submit\">{submit}</button></form>",
                intro = text(&intro),
                token = attr(&form.token),
                submit = text(&t(lang, "verify-email-submit", &[])),
            );
            page(StatusCode::OK, lang, &t(lang, "verify-email-title", &[]), &body)
        }
        Opened::Unusable(account) => link_problem_page(account.as_deref()),
    })
}

/// Confirm the owner's email.
#[utoipa::path(post, path = "/account/verify", tag = "accounts",
    request_body(content = LinkForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "HTML page: done", content_type = "text/html"), (status = 404, description = "HTML page: the link does not work (unknown, used or expired)"), (status = 400, description = "HTML page: the link has no token")))]
pub async fn verify_submit(State(s): State<AppState>, body: Bytes) -> Result<Response, Problem> {
    let Some(form) = posted(&body) else { return Ok(incomplete_link()) };
    Ok(match links::verify_email(&s, &form.token).await? {
        Opened::Usable { account, .. } => {
            let lang = account.language;
            let done = t(lang, "verify-email-done", &[("company", &account.company_name)]);
            page(StatusCode::OK, lang, &t(lang, "verify-email-done-title", &[]), &format!("<p>{}</p>", text(&done)))
        }
        Opened::Unusable(account) => link_problem_page(account.as_deref()),
    })
}

/// The form to choose a new password.
#[utoipa::path(get, path = "/password-reset", tag = "auth", params(LinkQuery),
    responses((status = 200, description = "HTML form", content_type = "text/html"), (status = 404, description = "HTML page: the link does not work (unknown, used or expired)"), (status = 400, description = "HTML page: the link has no token")))]
pub async fn reset_form(State(s): State<AppState>, RawQuery(q): RawQuery) -> Result<Response, Problem> {
    let Some(form) = queried(q) else { return Ok(incomplete_link()) };
    Ok(match links::open(&s, &form.token, LinkPurpose::ResetPassword).await? {
        Opened::Usable { account, member } => reset_page(&account, &member.first_name, &form.token, None),
        Opened::Unusable(account) => link_problem_page(account.as_deref()),
    })
}

/// Set the new password; every session of the member ends.
#[utoipa::path(post, path = "/password-reset", tag = "auth",
    request_body(content = PasswordForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "HTML page: done", content_type = "text/html"), (status = 422, description = "HTML form with the error"), (status = 404, description = "HTML page: the link does not work (unknown, used or expired)"), (status = 400, description = "HTML page: the link has no token")))]
pub async fn reset_submit(State(s): State<AppState>, body: Bytes) -> Result<Response, Problem> {
    let Some(form) = posted(&body) else { return Ok(incomplete_link()) };
    Ok(match links::reset_password(&s, &form.token, &form.password, &form.password_confirmation).await? {
        ResetOutcome::Done(account) => {
            let lang = account.language;
            let done = t(lang, "password-reset-done", &[("company", &account.company_name)]);
            page(StatusCode::OK, lang, &t(lang, "password-reset-done-title", &[]), &format!("<p>{}</p>", text(&done)))
        }
        ResetOutcome::InvalidPassword(account, member, error) => {
            let message = t(account.language, &format!("password-{}", error.code), &[]);
            let mut res = reset_page(&account, &member.first_name, &form.token, Some(&message));
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            res
        }
        ResetOutcome::Unusable(account) => link_problem_page(account.as_deref()),
    })
}

fn reset_page(account: &Account, first_name: &str, token: &str, error: Option<&str>) -> Response {
    let lang = account.language;
    let intro = t(lang, "password-reset-intro", &[("name", first_name), ("company", &account.company_name)]);
    let submit = t(lang, "password-reset-submit", &[]);
    let body = password_form("/password-reset", lang, &intro, token, error, &submit);
    page(StatusCode::OK, lang, &t(lang, "password-reset-title", &[]), &body)
}

/// A link that cannot be used: one page for every reason (unknown, used, expired), so the page
/// tells nothing about which.
fn link_problem_page(account: Option<&Account>) -> Response {
    let lang = account.map_or(Language::En, |a| a.language);
    let body = format!("<p>{}</p>", text(&t(lang, "once-link-invalid", &[])));
    page(StatusCode::NOT_FOUND, lang, &t(lang, "once-link-invalid-title", &[]), &body)
}

/// A form that sets a password: intro, optional error, password twice, the rules, a button.
fn password_form(action: &str, lang: Language, intro: &str, token: &str, error: Option<&str>, submit: &str) -> String {
    let error = error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", text(e))).unwrap_or_default();
    format!(
        "<p>{intro}</p>{error}\
         <form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <label>{pw}<input type=\"password\" name=\"password\" autocomplete=\"new-password\" minlength=\"12\" maxlength=\"128\" required></label>\
         <label>{confirm}<input type=\"password\" name=\"password_confirmation\" autocomplete=\"new-password\" required></label>\
         <p class=\"hint\">{rules}</p><button type=\"submit\">{submit}</button></form>",
        intro = text(intro),
        action = attr(action),
        token = attr(token),
        pw = text(&t(lang, "accept-password", &[])),
        confirm = text(&t(lang, "accept-confirm", &[])),
        rules = text(&t(lang, "accept-rules", &[])),
        submit = text(submit),
    )
}

fn form_page(account: &Account, first_name: &str, token: &str, error: Option<&str>) -> Response {
    let lang = account.language;
    let company = account.company_name.as_str();
    let intro = t(lang, "accept-intro", &[("name", first_name), ("company", company)]);
    let body = password_form("/invitations/accept", lang, &intro, token, error, &t(lang, "accept-submit", &[]));
    page(StatusCode::OK, lang, &t(lang, "accept-title", &[("company", company)]), &body)
}

fn problem_page(problem: LinkProblem, account: Option<&Account>) -> Response {
    let lang = account.map_or(Language::En, |a| a.language);
    let (key, status) = match problem {
        LinkProblem::Unknown => ("link-unknown", StatusCode::NOT_FOUND),
        LinkProblem::Expired => ("link-expired", StatusCode::GONE),
        LinkProblem::Used => ("link-used", StatusCode::GONE),
        LinkProblem::Cancelled => ("link-cancelled", StatusCode::GONE),
        LinkProblem::Replaced => ("link-replaced", StatusCode::GONE),
    };
    let body = format!("<p>{}</p>", text(&t(lang, key, &[])));
    page(status, lang, &t(lang, &format!("{key}-title"), &[]), &body)
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem;color:#1d2330}\
label{display:block;margin:1rem 0}input{display:block;width:100%;padding:.5rem;margin-top:.25rem;box-sizing:border-box}\
button{padding:.6rem 1.2rem;background:#2457d6;color:#fff;border:0;border-radius:4px}.error{color:#b00020}.hint{color:#555;font-size:.9rem}";

fn page(status: StatusCode, lang: Language, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"{tag}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body><h1>{title}</h1>{body}</body></html>",
        tag = lang.tag(),
        title = text(title),
    );
    let mut res = (status, html).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    // The token is in the URL: keep it out of caches and other sites' logs.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    res
}

/// A usable link always has its member; the name is only for the greeting.
fn first_name(found: &crate::store::InvitationByToken) -> &str {
    found.member.as_ref().map_or("", |m| m.first_name.as_str())
}
