//! The table's definition: the local stack creates the table from it, and a test proves
//! `template.yaml` declares the same keys, index, TTL and stream.
use super::keys::{PK, SK};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};

pub struct IndexDef {
    pub name: &'static str,
    pub pk: &'static str,
    pub sk: &'static str,
}

pub struct TableDef {
    pub pk: &'static str,
    pub sk: &'static str,
    pub indexes: &'static [IndexDef],
    /// Epoch-seconds attribute DynamoDB uses to expire items (sessions, tokens, counters).
    pub ttl_attribute: &'static str,
    pub stream_view: &'static str,
}

/// GSI1 is the general-purpose inverted index later features list by (e.g. members by email);
/// GSI2 lists end users by their primary email's domain (a re-map reads a domain's people).
pub const TABLE: TableDef = TableDef {
    pk: PK,
    sk: SK,
    indexes: &[
        IndexDef { name: "gsi1", pk: "gsi1pk", sk: "gsi1sk" },
        IndexDef { name: "gsi2", pk: "gsi2pk", sk: "gsi2sk" },
    ],
    ttl_attribute: "ttl",
    stream_view: "NEW_AND_OLD_IMAGES",
};

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, String> {
    KeySchemaElement::builder().attribute_name(name).key_type(kind).build().map_err(|e| e.to_string())
}

fn string_attr(name: &str) -> Result<AttributeDefinition, String> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| e.to_string())
}

/// Create the table (for the local stack and tests) unless it exists.
pub async fn ensure_table(client: &Client, name: &str) -> Result<(), String> {
    if client.describe_table().table_name(name).send().await.is_ok() {
        return Ok(());
    }
    let t = &TABLE;
    let mut create = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(t.pk, KeyType::Hash)?)
        .key_schema(key(t.sk, KeyType::Range)?)
        .attribute_definitions(string_attr(t.pk)?)
        .attribute_definitions(string_attr(t.sk)?)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(t.stream_view))
                .build()
                .map_err(|e| e.to_string())?,
        );
    for ix in t.indexes {
        create = create
            .attribute_definitions(string_attr(ix.pk)?)
            .attribute_definitions(string_attr(ix.sk)?)
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(ix.name)
                    .key_schema(key(ix.pk, KeyType::Hash)?)
                    .key_schema(key(ix.sk, KeyType::Range)?)
                    .projection(Projection::builder().projection_type(ProjectionType::All).build())
                    .build()
                    .map_err(|e| e.to_string())?,
            );
    }
    create
        .send()
        .await
        .map_err(|e| format!("create table {name}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(t.ttl_attribute)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .send()
        .await
        .map_err(|e| format!("enable TTL on {name}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
    Ok(())
}
