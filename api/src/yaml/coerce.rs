//! Reading a JSON value into a Rust type the way sigs.k8s.io/yaml reads YAML into a Go type.
//!
//! sigs.k8s.io/yaml converts YAML to JSON *against the target type*, then Go's `encoding/json`
//! reads the JSON. So, where the type wants:
//! - a string and the value is a number or a boolean: the value's text ([`super::scalar`]:
//!   `0` is `"0"`, `y` is `"true"`, `1e6` is `"1e+06"`); types that read themselves
//!   (quantities, int-or-string) get the value as it is, as Go's `Unmarshaler`s do; a null is
//!   `""` (a list item left empty, `- `), as `encoding/json` leaves a string at its zero value;
//! - an integer and the value is a float with no fraction below 1e21 (`2.0`): that integer, as
//!   Go writes such a float in JSON without a fraction;
//! - a struct: a key matching no field exactly is matched ignoring ASCII case (`NAME` sets
//!   `name`), as `encoding/json` does; when several keys match one field, the last of them in
//!   byte order wins (sigs.k8s.io/yaml writes keys sorted).
//!
//! [`Coercing`] rewrites the value in place as it reads it, so a caller keeps the value as
//! upstream read it.

use serde::Deserializer;
use serde::de::value::StrDeserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};
use serde_json::{Map, Number, Value};

use super::scalar::{self, Scalar};

/// Reads `value` into `T` as upstream reads YAML into a Go type (see the module documentation).
pub fn from_value<T: DeserializeOwned>(mut value: Value) -> Result<T, serde_json::Error> {
    T::deserialize(Coercing::new(&mut value))
}

/// A deserializer over a JSON value that coerces scalars as sigs.k8s.io/yaml does, rewriting
/// the value in place.
pub struct Coercing<'a> {
    value: &'a mut Value,
}

impl<'a> Coercing<'a> {
    /// Reads `value`.
    pub fn new(value: &'a mut Value) -> Self {
        Self { value }
    }
}

/// The text a number or boolean takes in a string field.
fn string_text(value: &Value) -> Option<String> {
    let scalar = match value {
        Value::Bool(b) => Scalar::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Scalar::Int(i),
            (None, Some(u), _) => Scalar::Uint(u),
            (None, None, Some(f)) => Scalar::Float(f),
            _ => return None,
        },
        _ => return None,
    };
    scalar::string_field_text(&scalar)
}

/// An integral float as an integer, when Go's JSON writes it as one: below 1e21, with its
/// shortest digits padded with zeros (`-9223372036854775809` is written `-9223372036854776000`,
/// which no int64 holds).
fn integral(number: &Number) -> Option<Number> {
    let f = number.as_f64().filter(|_| number.is_f64())?;
    if f.fract() != 0.0 || f.abs() >= 1e21 {
        return None;
    }
    // Rust, like Go, writes the shortest digits that read back as `f`, padded with zeros.
    let text = f.to_string();
    text.parse::<u64>()
        .map(Number::from)
        .or_else(|_| text.parse::<i64>().map(Number::from))
        .ok()
}

/// Renames the keys of `map` that match a field of `fields` only ignoring ASCII case.
fn fold_keys(map: &mut Map<String, Value>, fields: &[&str]) {
    let stray: Vec<String> = map
        .keys()
        .filter(|key| !fields.contains(&key.as_str()))
        .filter(|key| fields.iter().any(|f| f.eq_ignore_ascii_case(key)))
        .cloned()
        .collect();
    for key in stray {
        let Some(field) = fields.iter().find(|f| f.eq_ignore_ascii_case(&key)) else {
            continue;
        };
        // Keys reach Go's decoder sorted: the last one in byte order wins.
        if map.contains_key(*field) && field.as_bytes() > key.as_bytes() {
            map.remove(&key);
        } else if let Some(value) = map.remove(&key) {
            map.insert((*field).to_string(), value);
        }
    }
}

macro_rules! integer {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, serde_json::Error> {
            if let Value::Number(n) = self.value
                && let Some(whole) = integral(n)
            {
                *n = whole;
            }
            self.deserialize_any(visitor)
        }
    )*};
}

impl<'de> Deserializer<'de> for Coercing<'_> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, serde_json::Error> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_str(s),
            Value::Array(items) => {
                let length = items.len();
                let mut access = Seq {
                    items: items.iter_mut(),
                };
                let result = visitor.visit_seq(&mut access)?;
                match access.items.len() {
                    0 => Ok(result),
                    left => Err(de::Error::invalid_length(length - left, &"fewer elements in the list")),
                }
            }
            Value::Object(map) => visitor.visit_map(Entries {
                entries: map.iter_mut(),
                value: None,
            }),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, serde_json::Error> {
        if self.value.is_null() {
            // encoding/json leaves a string at its zero value for a null.
            *self.value = Value::String(String::new());
        } else if let Some(text) = string_text(self.value) {
            *self.value = Value::String(text);
        }
        self.deserialize_any(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, serde_json::Error> {
        self.deserialize_str(visitor)
    }

    integer!(deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128);

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, serde_json::Error> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, serde_json::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, serde_json::Error> {
        if let Value::Object(map) = self.value {
            fold_keys(map, fields);
        }
        self.deserialize_any(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, serde_json::Error> {
        match self.value {
            Value::String(variant) => visitor.visit_enum(variant.as_str().into_deserializer()),
            Value::Object(map) if map.len() == 1 => {
                let Some((variant, value)) = map.iter_mut().next() else {
                    return Err(de::Error::custom("an enum must have one variant"));
                };
                visitor.visit_enum(Variant { variant, value })
            }
            other => Err(de::Error::invalid_type(unexpected(other), &"an enum variant")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, serde_json::Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool f32 f64 char bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier
    }
}

fn unexpected(value: &Value) -> de::Unexpected<'_> {
    match value {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(_) => de::Unexpected::Other("number"),
        Value::String(s) => de::Unexpected::Str(s),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
    }
}

struct Seq<'a> {
    items: std::slice::IterMut<'a, Value>,
}

impl<'de> de::SeqAccess<'de> for Seq<'_> {
    type Error = serde_json::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, serde_json::Error> {
        self.items
            .next()
            .map(|item| seed.deserialize(Coercing::new(item)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Entries<'a> {
    entries: serde_json::map::IterMut<'a>,
    value: Option<&'a mut Value>,
}

impl<'de> de::MapAccess<'de> for Entries<'_> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, serde_json::Error> {
        match self.entries.next() {
            None => Ok(None),
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(StrDeserializer::<serde_json::Error>::new(key))
                    .map(Some)
            }
        }
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, serde_json::Error> {
        match self.value.take() {
            Some(value) => seed.deserialize(Coercing::new(value)),
            None => Err(de::Error::custom("a value was read before its key")),
        }
    }
}

struct Variant<'a> {
    variant: &'a str,
    value: &'a mut Value,
}

impl<'de, 'a> de::EnumAccess<'de> for Variant<'a> {
    type Error = serde_json::Error;
    type Variant = Coercing<'a>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Coercing<'a>), serde_json::Error> {
        let variant = seed.deserialize(StrDeserializer::<serde_json::Error>::new(self.variant))?;
        Ok((variant, Coercing::new(self.value)))
    }
}

impl<'de> de::VariantAccess<'de> for Coercing<'_> {
    type Error = serde_json::Error;

    fn unit_variant(self) -> Result<(), serde_json::Error> {
        de::Deserialize::deserialize(self)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, serde_json::Error> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, serde_json::Error> {
        self.deserialize_any(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, serde_json::Error> {
        self.deserialize_struct("", fields, visitor)
    }
}
