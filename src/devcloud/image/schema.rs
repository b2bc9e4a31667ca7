//! `GET /v2/schemas/{image,images,member,members}`: the JSON schemas
//! Glance publishes for its documents (clients such as glanceclient
//! build their models from them).

use super::{CONTAINER_FORMATS, DISK_FORMATS, STATUSES, UUID_PATTERN, VISIBILITIES};
use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

fn with_null(values: &[&str]) -> Vec<Value> {
    std::iter::once(Value::Null)
        .chain(values.iter().map(|v| json!(v)))
        .collect()
}

fn image_schema() -> Value {
    let mut properties = json!({
        "id": {"type": "string", "description": "An identifier for the image", "pattern": UUID_PATTERN},
        "name": {"type": ["null", "string"], "description": "Descriptive name for the image", "maxLength": 255},
        "status": {"type": "string", "readOnly": true, "description": "Status of the image", "enum": STATUSES},
        "visibility": {"type": "string", "description": "Scope of image accessibility", "enum": VISIBILITIES},
        "protected": {"type": "boolean", "description": "If true, image will not be deletable."},
        "os_hidden": {"type": "boolean", "description": "If true, image will not appear in default image list response."},
        "checksum": {"type": ["null", "string"], "readOnly": true, "description": "md5 hash of image contents.", "maxLength": 32},
        "os_hash_algo": {"type": ["null", "string"], "readOnly": true, "description": "Algorithm to calculate the os_hash_value", "maxLength": 64},
        "os_hash_value": {"type": ["null", "string"], "readOnly": true, "description": "Hexdigest of the image contents using the algorithm specified by the os_hash_algo", "maxLength": 128},
        "owner": {"type": ["null", "string"], "description": "Owner of the image", "maxLength": 255},
        "size": {"type": ["null", "integer"], "readOnly": true, "description": "Size of image file in bytes"},
        "virtual_size": {"type": ["null", "integer"], "readOnly": true, "description": "Virtual size of image in bytes"},
    });
    let more = json!({
        "container_format": {"type": ["null", "string"], "description": "Format of the container", "enum": with_null(&CONTAINER_FORMATS)},
        "disk_format": {"type": ["null", "string"], "description": "Format of the disk", "enum": with_null(&DISK_FORMATS)},
        "created_at": {"type": "string", "readOnly": true, "description": "Date and time of image registration"},
        "updated_at": {"type": "string", "readOnly": true, "description": "Date and time of the last image modification"},
        "tags": {"type": "array", "description": "List of strings related to the image", "items": {"type": "string", "maxLength": 255}},
        "direct_url": {"type": "string", "readOnly": true, "description": "URL to access the image file kept in external store"},
        "min_ram": {"type": "integer", "description": "Amount of ram (in MB) required to boot image."},
        "min_disk": {"type": "integer", "description": "Amount of disk space (in GB) required to boot image."},
        "self": {"type": "string", "readOnly": true, "description": "An image self url"},
        "file": {"type": "string", "readOnly": true, "description": "An image file url"},
        "stores": {"type": "string", "readOnly": true, "description": "Store in which image data resides.  Only present when the operator has enabled multiple stores.  May be a comma-separated list of store identifiers."},
        "schema": {"type": "string", "readOnly": true, "description": "An image schema url"},
    });
    let validation_data = json!({
        "description": "Values to be used to populate the corresponding image properties. If the image status is not 'queued', values must exactly match those already contained in the image properties.",
        "type": "object",
        "writeOnly": true,
        "additionalProperties": false,
        "properties": {
            "checksum": {"type": "string", "minLength": 32, "maxLength": 32},
            "os_hash_algo": {"type": "string", "maxLength": 64},
            "os_hash_value": {"type": "string", "maxLength": 128},
        },
        "required": ["os_hash_algo", "os_hash_value"],
    });
    let locations = json!({
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "url": {"type": "string", "maxLength": 255},
                "metadata": {"type": "object"},
                "validation_data": validation_data,
            },
            "required": ["url", "metadata"],
        },
        "description": "A set of URLs to access the image file kept in external store",
    });
    if let (Some(map), Value::Object(more)) = (properties.as_object_mut(), more) {
        map.extend(more);
        map.insert("locations".into(), locations);
    }
    json!({
        "name": "image",
        "properties": properties,
        "additionalProperties": {"type": "string"},
        "links": [
            {"rel": "self", "href": "{self}"},
            {"rel": "enclosure", "href": "{file}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    })
}

fn member_schema() -> Value {
    json!({
        "name": "member",
        "properties": {
            "member_id": {"type": "string", "description": "An identifier for the image member (tenantId)"},
            "image_id": {"type": "string", "description": "An identifier for the image", "pattern": UUID_PATTERN},
            "created_at": {"type": "string", "description": "Date and time of image member creation"},
            "updated_at": {"type": "string", "description": "Date and time of last modification of image member"},
            "status": {"type": "string", "description": "The status of this image member", "enum": ["pending", "accepted", "rejected"]},
            "schema": {"type": "string", "readOnly": true, "description": "An image member schema url"},
        },
    })
}

/// A collection schema, as Glance wraps an item schema.
fn collection(name: &str, item: Value) -> Value {
    json!({
        "name": name,
        "properties": {
            name: {"type": "array", "items": item},
            "first": {"type": "string"},
            "next": {"type": "string"},
            "schema": {"type": "string"},
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    })
}

pub(super) async fn image() -> Response {
    Json(image_schema()).into_response()
}

pub(super) async fn images() -> Response {
    Json(collection("images", image_schema())).into_response()
}

pub(super) async fn member() -> Response {
    Json(member_schema()).into_response()
}

pub(super) async fn members() -> Response {
    Json(collection("members", member_schema())).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_are_valid_and_describe_every_attribute() {
        let schema = image_schema();
        for key in super::super::SCHEMA_ORDER {
            assert!(schema["properties"].get(key).is_some(), "{key}");
        }
        assert_eq!(schema["properties"]["disk_format"]["enum"][0], Value::Null);
        let images = collection("images", schema);
        assert_eq!(images["properties"]["images"]["items"]["name"], "image");
    }
}
