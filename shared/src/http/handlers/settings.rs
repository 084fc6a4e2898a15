//! Settings > System: registration information, design (with uploaded images), preferences.
//! Each section answers with its own ETag and takes `If-Match`.
use super::etag::{if_match, tagged};
use crate::domain::account::Account;
use crate::domain::settings::{IMAGE_MAX_BYTES, Image, ImageSlot, TopMenu};
use crate::http::AppState;
use crate::http::json::ApiJson;
use crate::http::problem::{Problem, Rendered};
use crate::service::Caller;
use crate::service::settings::{self, DesignPatch, Preferences, PreferencesPatch, Registration, RegistrationPatch};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

fn section(body: impl Serialize) -> Response {
    let tag = settings::etag(&body);
    tagged(body, tag)
}

#[derive(Serialize, ToSchema)]
pub struct ImageView {
    /// `url` (hosted elsewhere) or `uploaded` (served by Roster at `url`).
    pub kind: &'static str,
    pub url: String,
    pub content_type: Option<String>,
    pub size: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct DesignView {
    pub top_menu: TopMenu,
    pub website_name: Option<String>,
    pub logo: Option<ImageView>,
    pub favicon: Option<ImageView>,
}

fn design_view(s: &AppState, a: &Account) -> Response {
    let image = |slot: ImageSlot| {
        a.design.image(slot).map(|i| match i {
            Image::Url { url } => ImageView { kind: "url", url: url.clone(), content_type: None, size: None },
            Image::Uploaded { content_type, size, .. } => ImageView {
                kind: "uploaded",
                url: format!("{}/v1/account/design/{}", s.config.public_url, slot.as_str()),
                content_type: Some(content_type.clone()),
                size: Some(*size),
            },
        })
    };
    let view = DesignView {
        top_menu: a.design.top_menu,
        website_name: a.design.website_name.clone(),
        logo: image(ImageSlot::Logo),
        favicon: image(ImageSlot::Favicon),
    };
    // The ETag is the one `If-Match` is checked against: the stored design's.
    tagged(view, settings::etag(&a.design))
}

/// Company or team name, contact email, phones, newsletter.
#[utoipa::path(get, path = "/v1/account/registration", tag = "settings",
    responses((status = 200, body = Registration, headers(("ETag" = String))), (status = 403, body = Rendered)))]
pub async fn registration(caller: Caller) -> Response {
    section(Registration::from(&caller.account))
}

/// Change registration information; `null` clears an optional field.
#[utoipa::path(patch, path = "/v1/account/registration", tag = "settings", request_body = RegistrationPatch,
    responses((status = 200, body = Registration), (status = 412, body = Rendered), (status = 422, body = Rendered)))]
pub async fn update_registration(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<RegistrationPatch>,
) -> Result<Response, Problem> {
    let a = settings::update_registration(&s, &caller, patch, if_match(&headers)?).await?;
    Ok(section(Registration::from(&a)))
}

/// Language, time zone and date display: how Roster writes to the account's people.
#[utoipa::path(get, path = "/v1/account/preferences", tag = "settings",
    responses((status = 200, body = Preferences, headers(("ETag" = String))), (status = 401, body = Rendered)))]
pub async fn preferences(caller: Caller) -> Response {
    section(Preferences::from(&caller.account))
}

#[utoipa::path(patch, path = "/v1/account/preferences", tag = "settings", request_body = PreferencesPatch,
    responses((status = 200, body = Preferences), (status = 412, body = Rendered), (status = 422, body = Rendered)))]
pub async fn update_preferences(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<PreferencesPatch>,
) -> Result<Response, Problem> {
    let a = settings::update_preferences(&s, &caller, patch, if_match(&headers)?).await?;
    Ok(section(Preferences::from(&a)))
}

/// Top-menu display, website name, logo and favicon.
#[utoipa::path(get, path = "/v1/account/design", tag = "settings",
    responses((status = 200, body = DesignView, headers(("ETag" = String))), (status = 401, body = Rendered)))]
pub async fn design(State(s): State<AppState>, caller: Caller) -> Response {
    design_view(&s, &caller.account)
}

#[utoipa::path(patch, path = "/v1/account/design", tag = "settings", request_body = DesignPatch,
    responses((status = 200, body = DesignView), (status = 412, body = Rendered), (status = 422, body = Rendered)))]
pub async fn update_design(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<DesignPatch>,
) -> Result<Response, Problem> {
    let a = settings::update_design(&s, &caller, patch, if_match(&headers)?).await?;
    Ok(design_view(&s, &a))
}

fn slot(raw: &str) -> Result<ImageSlot, Problem> {
    ImageSlot::parse(raw).ok_or_else(Problem::not_found)
}

/// Upload the logo or favicon as the raw request body: PNG, JPEG, WebP or ICO, at most 256 KB.
/// The type is read from the bytes; SVG is refused.
#[utoipa::path(put, path = "/v1/account/design/{image}", tag = "settings",
    params(("image" = String, Path, description = "logo or favicon")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = DesignView), (status = 413, body = Rendered), (status = 422, body = Rendered)))]
pub async fn upload_image(
    State(s): State<AppState>,
    caller: Caller,
    Path(image): Path<String>,
    body: Bytes,
) -> Result<Response, Problem> {
    let slot = slot(&image)?;
    if body.len() > IMAGE_MAX_BYTES {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "image_too_large",
            format!("an image has at most {IMAGE_MAX_BYTES} bytes"),
        ));
    }
    let a = settings::upload_image(&s, &caller, slot, &body).await?;
    Ok(design_view(&s, &a))
}

/// The uploaded image, with the type its bytes were recognised as.
#[utoipa::path(get, path = "/v1/account/design/{image}", tag = "settings",
    params(("image" = String, Path, description = "logo or favicon")),
    responses((status = 200, description = "the image", content_type = "image/*"), (status = 404, body = Rendered)))]
pub async fn image(State(s): State<AppState>, caller: Caller, Path(image): Path<String>) -> Result<Response, Problem> {
    let stored = settings::image(&s, &caller, slot(&image)?).await?;
    Ok((
        [
            (header::CONTENT_TYPE, stored.content_type),
            (header::ETAG, format!("\"{}\"", stored.sha256)),
            (header::CACHE_CONTROL, "private, max-age=300".to_owned()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        stored.data,
    )
        .into_response())
}
