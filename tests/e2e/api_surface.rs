//! What every client sees: the OpenAPI document and problem+json for unknown addresses.
use roster::http::routes::ROUTES;
use roster_tests::*;

#[tokio::test]
async fn the_api_serves_an_openapi_3_1_document_of_every_route() {
    let s = stack().await;
    let doc = s.get("/openapi.json", None).await;
    let doc = doc.ok(200);
    assert_eq!(doc["openapi"], "3.1.0");
    for r in ROUTES {
        assert!(doc["paths"][r.path][r.method].is_object(), "{} {} undocumented", r.method, r.path);
    }
}

#[tokio::test]
async fn unknown_addresses_and_methods_answer_problem_json() {
    let s = stack().await;
    assert_eq!(s.get("/v1/nothing-here", None).await.problem(404), "not_found");
    assert_eq!(s.call(reqwest::Method::DELETE, "/v1/accounts", None, None).await.problem(405), "method_not_allowed");
}
