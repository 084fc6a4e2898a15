//! A job runner in a process of its own, and the test's hand on a job's clock: for the crash tests of every job kind.
use roster_tests::*;

/// A runner process working on this job (that aborts itself at a fault point, or is killed).
pub fn runner_process(acme: &Account, id: &str, fault: Option<&str>) -> tokio::process::Child {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_roster-test-runner"));
    cmd.args([&acme.id, id]);
    if let Some(f) = fault {
        cmd.env("ROSTER_FAULT_ABORT", f);
    }
    cmd.kill_on_drop(true).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::inherit());
    cmd.spawn().expect("the runner process starts")
}

/// Change the job's item straight in the table, as the test's clock (conditions may fail: the
/// job is then past that state already).
pub async fn touch_job(s: &Stack, acme: &Account, id: &str, update: &str, condition: &str, values: &[(&str, String)]) {
    use aws_sdk_dynamodb::types::AttributeValue;
    let mut req = s
        .dynamo
        .update_item()
        .table_name(&s.table)
        .key("pk", AttributeValue::S(format!("ACCOUNT#{}", acme.id)))
        .key("sk", AttributeValue::S(format!("JOB#{id}")))
        .update_expression(update)
        .condition_expression(condition);
    for (name, value) in values {
        let v =
            if name.starts_with(":n") { AttributeValue::N(value.clone()) } else { AttributeValue::S(value.clone()) };
        req = req.expression_attribute_values(*name, v);
    }
    let _ = req.send().await;
}

/// A dead runner's lease would keep the job for two minutes: the test's clock moves past it.
pub async fn expire_lease(s: &Stack, acme: &Account, id: &str) {
    let past = [(":n_past", "0".to_owned())];
    touch_job(s, acme, id, "SET lease_until_ms = :n_past", "attribute_exists(lease_until_ms)", &past).await;
}
