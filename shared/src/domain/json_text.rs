//! Serde for a field kept as JSON text where it is stored (`#[serde(with = "json_text")]`): an
//! audit entry's content, a result page's entries. Such values are free-form JSON, which a
//! DynamoDB map holds only within limits (32 levels of nesting, numbers below 1e126), and a
//! tree of a few hundred attribute values costs more to write and read than one string of the
//! same bytes. A field written before as a value tree is read as it is.
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub fn serialize<T: Serialize, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    let text = serde_json::to_string(value).map_err(serde::ser::Error::custom)?;
    s.serialize_str(&text)
}

pub fn deserialize<'de, T: DeserializeOwned, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    match serde_json::Value::deserialize(d)? {
        // Text that is not JSON is a plain string value written as a tree.
        serde_json::Value::String(text) => serde_json::from_str(&text)
            .or_else(|_| serde_json::from_value(serde_json::Value::String(text)))
            .map_err(D::Error::custom),
        tree => serde_json::from_value(tree).map_err(D::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Kept {
        #[serde(with = "super")]
        content: serde_json::Value,
        #[serde(with = "super")]
        list: Vec<(u64, String)>,
    }

    #[test]
    fn a_value_is_stored_as_one_string_and_read_back_whole() {
        let deep = (0..40).fold(json!(1.5e300), |v, _| json!([v]));
        let kept = Kept { content: json!({ "name": "Zoë", "deep": deep }), list: vec![(1, "a\"b".into())] };
        let item: serde_dynamo::Item = serde_dynamo::to_item(&kept).unwrap();
        assert!(matches!(item.get("content"), Some(serde_dynamo::AttributeValue::S(_))));
        assert!(matches!(item.get("list"), Some(serde_dynamo::AttributeValue::S(_))));
        let back: Kept = serde_dynamo::from_item(item).unwrap();
        assert_eq!(back, kept);
    }

    #[test]
    fn a_value_written_as_a_tree_is_read_too() {
        let tree = json!({ "content": { "a": [1, "x"] }, "list": [[2, "y"]] });
        let item: serde_dynamo::Item = serde_dynamo::to_item(&tree).unwrap();
        let back: Kept = serde_dynamo::from_item(item).unwrap();
        assert_eq!(back, Kept { content: json!({ "a": [1, "x"] }), list: vec![(2, "y".into())] });
        // A plain string written as a tree stays that string.
        let plain: Kept = serde_json::from_value(json!({ "content": "not json {", "list": "[]" })).unwrap();
        assert_eq!(plain.content, json!("not json {"));
    }
}
