//! Test helper: any `Serialize` type as a `serde_json::Value` (what the JS side receives), so
//! tests can look at fields by their JS names.

#![allow(dead_code)]

use serde_json::Value;

pub trait ToValue {
    fn to_value(&self) -> Value;
}

impl<T: serde::Serialize> ToValue for T {
    fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}
