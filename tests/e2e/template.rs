//! `template.yaml` ⇔ the code: every route has exactly one function with the same method, path
//! and handler, every scheduled job one function on a schedule, no function lacks either, and
//! the table matches the store's definition.
use roster::http::routes::ROUTES;
use roster::store::schema::TABLE;
use yaml_rust2::{Yaml, YamlLoader};

fn template() -> Yaml {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

fn resources_of(doc: &Yaml, kind: &str) -> Vec<(String, Yaml)> {
    doc["Resources"]
        .as_hash()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(k, r)| (k.as_str().unwrap().to_owned(), r.clone()))
        .collect()
}

#[test]
fn every_route_has_one_function_and_every_function_a_route() {
    let doc = template();
    let functions = resources_of(&doc, "AWS::Serverless::Function");
    let mut declared = Vec::new();
    for (name, f) in &functions {
        let p = &f["Properties"];
        let handler = p["Handler"].as_str().unwrap_or_else(|| panic!("{name} has no Handler"));
        if handler == roster::jobs::RUNNER {
            let schedule = &p["Events"]["Schedule"];
            assert_eq!(schedule["Type"].as_str(), Some("Schedule"), "{name} runs on a schedule");
            let every = schedule["Properties"]["Schedule"].as_str().unwrap_or_default();
            assert!(every.starts_with("rate(") || every.starts_with("cron("), "{name}: {every}");
            declared.push(handler.to_owned());
            continue;
        }
        let event = &p["Events"]["Http"]["Properties"];
        let route =
            ROUTES.iter().find(|r| r.id == handler).unwrap_or_else(|| panic!("{name}: no route named {handler}"));
        assert_eq!(event["Method"].as_str().unwrap().to_lowercase(), route.method, "{name}");
        assert_eq!(event["Path"].as_str().unwrap(), route.path, "{name}");
        assert_eq!(f["Metadata"]["BuildProperties"]["Binary"].as_str(), Some("bootstrap"), "{name}");
        declared.push(handler.to_owned());
    }
    for r in ROUTES {
        assert_eq!(declared.iter().filter(|d| *d == r.id).count(), 1, "route {} needs exactly one function", r.id);
    }
    assert_eq!(declared.iter().filter(|d| *d == roster::jobs::RUNNER).count(), 1, "the job runner needs one function");
}

#[test]
fn argon2_functions_have_the_memory_argon2id_needs() {
    let doc = template();
    for (name, f) in resources_of(&doc, "AWS::Serverless::Function") {
        let handler = f["Properties"]["Handler"].as_str().unwrap().to_owned();
        if [
            "auth-login",
            "invitations-accept",
            "accounts-create",
            "account-owner-transfer",
            "me-password",
            "password-reset",
        ]
        .contains(&handler.as_str())
        {
            assert!(f["Properties"]["MemorySize"].as_i64().unwrap_or(0) >= 1024, "{name}");
        }
    }
}

#[test]
fn the_table_matches_the_store_definition() {
    let doc = template();
    let tables = resources_of(&doc, "AWS::DynamoDB::Table");
    assert_eq!(tables.len(), 1, "one table");
    let p = &tables[0].1["Properties"];
    let key = |schema: &Yaml, kind: &str| {
        schema
            .as_vec()
            .unwrap()
            .iter()
            .find(|k| k["KeyType"].as_str() == Some(kind))
            .map(|k| k["AttributeName"].as_str().unwrap().to_owned())
    };
    assert_eq!(key(&p["KeySchema"], "HASH").as_deref(), Some(TABLE.pk));
    assert_eq!(key(&p["KeySchema"], "RANGE").as_deref(), Some(TABLE.sk));
    let gsis = p["GlobalSecondaryIndexes"].as_vec().unwrap();
    assert_eq!(gsis.len(), TABLE.indexes.len());
    for ix in TABLE.indexes {
        let g = gsis
            .iter()
            .find(|g| g["IndexName"].as_str() == Some(ix.name))
            .unwrap_or_else(|| panic!("index {}", ix.name));
        assert_eq!(key(&g["KeySchema"], "HASH").as_deref(), Some(ix.pk));
        assert_eq!(key(&g["KeySchema"], "RANGE").as_deref(), Some(ix.sk));
    }
    assert_eq!(p["TimeToLiveSpecification"]["AttributeName"].as_str(), Some(TABLE.ttl_attribute));
    assert_eq!(p["StreamSpecification"]["StreamViewType"].as_str(), Some(TABLE.stream_view));
    assert_eq!(p["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
}
