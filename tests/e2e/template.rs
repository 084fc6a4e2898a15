//! The templates ⇔ the code: `template.yaml` (the root stack) and its nested stacks
//! (`stacks/*.yaml`, written by `infra/template/build.py`). Every route has exactly one function
//! with the same handler, and one HTTP route with its method and path, integrated with that
//! function and allowed to invoke it; the job runner is on a schedule; no function lacks either;
//! each nested stack is given exactly the parameters it declares; the table matches the store.
use roster::http::routes::ROUTES;
use roster::store::schema::TABLE;
use yaml_rust2::{Yaml, YamlLoader};

fn load(path: &str) -> Yaml {
    let text = std::fs::read_to_string(format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

fn template() -> Yaml {
    load("template.yaml")
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

/// The nested stacks: (the root's resource, its template).
fn nested() -> Vec<(Yaml, Yaml)> {
    resources_of(&template(), "AWS::Serverless::Application")
        .into_iter()
        .map(|(_, app)| {
            let location = app["Properties"]["Location"].as_str().unwrap().to_owned();
            (app, load(&location))
        })
        .collect()
}

fn keys(h: &Yaml) -> Vec<String> {
    let mut out: Vec<String> =
        h.as_hash().map(|h| h.keys().map(|k| k.as_str().unwrap().to_owned()).collect()).unwrap_or_default();
    out.sort();
    out
}

#[test]
fn every_nested_stack_is_in_the_root_and_given_exactly_its_parameters() {
    let stacks = nested();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../stacks");
    let files = std::fs::read_dir(dir)
        .unwrap()
        .filter(|f| f.as_ref().unwrap().path().extension().is_some_and(|e| e == "yaml"))
        .count();
    assert_eq!(stacks.len(), files, "every file of stacks/ is a nested stack of template.yaml");
    for (app, doc) in &stacks {
        let location = app["Properties"]["Location"].as_str().unwrap();
        assert_eq!(keys(&app["Properties"]["Parameters"]), keys(&doc["Parameters"]), "{location}");
    }
}

#[test]
fn every_route_has_one_function_and_every_function_a_route() {
    let mut declared = Vec::new();
    for (_, doc) in nested() {
        let routes = resources_of(&doc, "AWS::ApiGatewayV2::Route");
        let integrations = resources_of(&doc, "AWS::ApiGatewayV2::Integration");
        let permissions = resources_of(&doc, "AWS::Lambda::Permission");
        for (name, f) in resources_of(&doc, "AWS::Serverless::Function") {
            let p = &f["Properties"];
            let handler = p["Handler"].as_str().unwrap_or_else(|| panic!("{name} has no Handler"));
            assert_eq!(f["Metadata"]["BuildProperties"]["Binary"].as_str(), Some("bootstrap"), "{name}");
            if handler == roster::jobs::RUNNER {
                let schedule = &p["Events"]["Schedule"];
                assert_eq!(schedule["Type"].as_str(), Some("Schedule"), "{name} runs on a schedule");
                let every = schedule["Properties"]["Schedule"].as_str().unwrap_or_default();
                assert!(every.starts_with("rate(") || every.starts_with("cron("), "{name}: {every}");
                declared.push(handler.to_owned());
                continue;
            }
            let route =
                ROUTES.iter().find(|r| r.id == handler).unwrap_or_else(|| panic!("{name}: no route named {handler}"));
            // The integration that calls this function, the route that targets it, the permission.
            let calls = |i: &Yaml| i["Properties"]["IntegrationUri"]["Fn::GetAtt"][0].as_str() == Some(name.as_str());
            let integrations: Vec<&String> = integrations.iter().filter(|(_, i)| calls(i)).map(|(n, _)| n).collect();
            assert_eq!(integrations.len(), 1, "{name}: one integration");
            let target = format!("integrations/${{{}}}", integrations[0]);
            let keys: Vec<&str> = routes
                .iter()
                .filter(|(_, r)| r["Properties"]["Target"]["Fn::Sub"].as_str() == Some(target.as_str()))
                .filter_map(|(_, r)| r["Properties"]["RouteKey"].as_str())
                .collect();
            assert_eq!(keys, [format!("{} {}", route.method.to_uppercase(), route.path)], "{name}");
            let allowed = permissions.iter().any(|(_, perm)| {
                let arn = perm["Properties"]["SourceArn"]["Fn::Sub"].as_str().unwrap_or_default();
                perm["Properties"]["FunctionName"]["Ref"].as_str() == Some(name.as_str())
                    && arn.contains("${ApiId}/*/")
                    && arn.ends_with(&format!("{}{}", route.method.to_uppercase(), wildcards(route.path)))
            });
            assert!(allowed, "{name}: API Gateway may invoke it on its route only");
            declared.push(handler.to_owned());
        }
    }
    for r in ROUTES {
        assert_eq!(declared.iter().filter(|d| *d == r.id).count(), 1, "route {} needs exactly one function", r.id);
    }
    assert_eq!(declared.iter().filter(|d| *d == roster::jobs::RUNNER).count(), 1, "the job runner needs one function");
}

/// A path as its execute-api ARN has it: each `{param}` a `*`.
fn wildcards(path: &str) -> String {
    path.split('/').map(|p| if p.starts_with('{') { "*" } else { p }).collect::<Vec<_>>().join("/")
}

#[test]
fn argon2_functions_have_the_memory_argon2id_needs() {
    for (name, f) in nested().iter().flat_map(|(_, doc)| resources_of(doc, "AWS::Serverless::Function")) {
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
