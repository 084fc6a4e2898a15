use axum::Json;

/// This API's OpenAPI 3.1 description.
#[utoipa::path(get, path = "/openapi.json", tag = "meta", responses((status = 200, description = "OpenAPI document")))]
pub async fn openapi() -> Json<serde_json::Value> {
    Json(crate::http::openapi::document())
}
