//! The JSON manifest source (upstream `solo5-elftool gen-manifest` schema).
//!
//! serde_json checks the syntax; values are kept as borrowed
//! [`RawValue`]s so that every one knows where it sits in the text, which
//! gives upstream's `SOURCE:LINE:` prefixes. Line numbers follow upstream's
//! parser: an object member's value is on the line of its `:`, an array
//! element on the line where it starts, the root on line 1.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use thiserror::Error;

use crate::name::{check_name, quote, NameError};
use crate::{Device, DeviceType, Manifest, MAX_DEVICES};

/// Largest JSON source accepted (a full 63-device manifest is about 4 KiB).
pub const MAX_SOURCE_SIZE: usize = 1 << 20;

/// The JSON manifest `type` value.
const MANIFEST_TYPE: &str = "solo5.manifest";

/// A broken rule in a JSON source: `SOURCE:LINE: PROBLEM`.
#[derive(Debug, Error)]
#[error("{source_name}:{line}: {problem}")]
pub struct JsonError {
    pub source_name: String,
    pub line: usize,
    pub problem: JsonProblem,
}

/// The kinds of JSON value, named as upstream's messages name them
/// (integers and reals are told apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonKind {
    Null,
    Boolean,
    String,
    Array,
    Object,
    Integer,
    Real,
}

impl fmt::Display for JsonKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JsonKind::Null => "NULL",
            JsonKind::Boolean => "BOOLEAN",
            JsonKind::String => "STRING",
            JsonKind::Array => "ARRAY",
            JsonKind::Object => "OBJECT",
            JsonKind::Integer => "INTEGER",
            JsonKind::Real => "REAL",
        })
    }
}

/// A device in messages: `.devices[2]`, plus its name once known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceLabel {
    pub index: usize,
    pub name: Option<String>,
}

impl fmt::Display for DeviceLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, ".devices[{}]", self.index)?;
        if let Some(name) = &self.name {
            write!(f, " ({})", quote(name.as_bytes()))?;
        }
        Ok(())
    }
}

/// What is wrong. The phrases after the path are upstream's.
#[derive(Debug, Error)]
pub enum JsonProblem {
    #[error("manifest source is larger than {MAX_SOURCE_SIZE} bytes")]
    TooLarge,
    #[error("JSON parse error: manifest source is not UTF-8 text")]
    NotUtf8,
    #[error("JSON parse error: {message}")]
    Syntax { message: String },
    #[error("{path}: expected {expected}, got {found}")]
    WrongKind {
        path: String,
        expected: JsonKind,
        found: JsonKind,
    },
    #[error("{path}: unknown key: {}", key.as_bytes().escape_ascii())]
    UnknownKey { path: String, key: String },
    #[error("{path}: duplicate key: {}", key.as_bytes().escape_ascii())]
    DuplicateKey { path: String, key: String },
    #[error("missing {what}")]
    MissingRootKey { what: &'static str },
    #[error(".type: invalid value, expected \"{MANIFEST_TYPE}\", got {found}")]
    BadType { found: String },
    #[error(".version: invalid version {found}, expected 1")]
    BadVersion { found: String },
    #[error(".devices[]: too many entries, maximum {MAX_DEVICES} (found {count})")]
    TooManyDevices { count: usize },
    #[error("{device}: missing .{key}")]
    MissingDeviceKey {
        device: DeviceLabel,
        key: &'static str,
    },
    #[error("{device}: {source}")]
    Name {
        device: DeviceLabel,
        source: NameError,
    },
    #[error("{device}: duplicate name, already used by .devices[{first}]")]
    DuplicateName { device: DeviceLabel, first: usize },
    #[error("{device}: unknown device type {found}, expected \"BLOCK_BASIC\" or \"NET_BASIC\"")]
    UnknownType { device: DeviceLabel, found: String },
}

/// The members of a JSON object in source order, duplicates kept.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, &'de RawValue>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

fn kind_of(raw: &RawValue) -> JsonKind {
    let text = raw.get();
    match text.bytes().next() {
        Some(b'{') => JsonKind::Object,
        Some(b'[') => JsonKind::Array,
        Some(b'"') => JsonKind::String,
        Some(b't' | b'f') => JsonKind::Boolean,
        Some(b'n') => JsonKind::Null,
        // Upstream: a number with a fraction or an exponent is a real.
        _ if text.contains(['.', 'e', 'E']) => JsonKind::Real,
        _ => JsonKind::Integer,
    }
}

/// The source text, for positions and errors.
struct Source<'a> {
    name: &'a str,
    text: &'a str,
}

impl<'a> Source<'a> {
    fn error(&self, line: usize, problem: JsonProblem) -> JsonError {
        JsonError {
            source_name: self.name.to_owned(),
            line,
            problem,
        }
    }

    fn syntax(&self, e: &serde_json::Error) -> JsonError {
        let full = e.to_string();
        let position = format!(" at line {} column {}", e.line(), e.column());
        let message = match full.strip_suffix(&position) {
            Some(m) => format!("{m} (column {})", e.column()),
            None => full,
        };
        self.error(e.line().max(1), JsonProblem::Syntax { message })
    }

    /// Byte offset of `raw` in the text (it always borrows from the text).
    fn offset_of(&self, raw: &RawValue) -> usize {
        (raw.get().as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize)
    }

    /// 1-based line holding byte `offset`.
    fn line_at(&self, offset: usize) -> usize {
        let before = self.text.as_bytes().get(..offset).unwrap_or_default();
        1 + before.iter().filter(|&&b| b == b'\n').count()
    }

    /// Line of an array element (where it starts).
    fn element_line(&self, raw: &RawValue) -> usize {
        self.line_at(self.offset_of(raw))
    }

    /// Line of an object member's value (the line of the preceding `:`).
    fn member_line(&self, raw: &RawValue) -> usize {
        let start = self.offset_of(raw);
        let before = self.text.as_bytes().get(..start).unwrap_or_default();
        match before
            .iter()
            .rposition(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            Some(colon) => self.line_at(colon),
            None => self.line_at(start),
        }
    }

    fn members(&self, raw: &'a RawValue, line: usize) -> Result<Members<'a>, JsonError> {
        serde_json::from_str(raw.get()).map_err(|e| {
            self.error(
                line,
                JsonProblem::Syntax {
                    message: e.to_string(),
                },
            )
        })
    }

    fn elements(&self, raw: &'a RawValue, line: usize) -> Result<Vec<&'a RawValue>, JsonError> {
        serde_json::from_str(raw.get()).map_err(|e| {
            self.error(
                line,
                JsonProblem::Syntax {
                    message: e.to_string(),
                },
            )
        })
    }

    fn string(&self, raw: &RawValue, line: usize) -> Result<String, JsonError> {
        serde_json::from_str(raw.get()).map_err(|e| {
            self.error(
                line,
                JsonProblem::Syntax {
                    message: e.to_string(),
                },
            )
        })
    }

    fn expect(
        &self,
        raw: &RawValue,
        expected: JsonKind,
        path: impl fmt::Display,
        line: usize,
    ) -> Result<(), JsonError> {
        let found = kind_of(raw);
        if found == expected {
            Ok(())
        } else {
            Err(self.error(
                line,
                JsonProblem::WrongKind {
                    path: path.to_string(),
                    expected,
                    found,
                },
            ))
        }
    }
}

/// The root member slots, filled once each.
#[derive(Default)]
struct Root<'a> {
    kind: Option<&'a RawValue>,
    version: Option<&'a RawValue>,
    devices: Option<(&'a RawValue, Vec<&'a RawValue>)>,
}

/// [`parse`] on bytes: checks the size and UTF-8 first.
pub(crate) fn parse_bytes(source_name: &str, bytes: &[u8]) -> Result<Manifest, JsonError> {
    let fail = |line, problem| JsonError {
        source_name: source_name.to_owned(),
        line,
        problem,
    };
    if bytes.len() > MAX_SOURCE_SIZE {
        return Err(fail(1, JsonProblem::TooLarge));
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(source_name, text),
        Err(e) => {
            let before = bytes.get(..e.valid_up_to()).unwrap_or_default();
            let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
            Err(fail(line, JsonProblem::NotUtf8))
        }
    }
}

/// Reads a manifest source, reporting the first broken rule in upstream's
/// order (root keys, then `.type`, `.version`, count, then each device).
pub(crate) fn parse(source_name: &str, text: &str) -> Result<Manifest, JsonError> {
    let src = Source {
        name: source_name,
        text,
    };
    if text.len() > MAX_SOURCE_SIZE {
        return Err(src.error(1, JsonProblem::TooLarge));
    }
    let root_raw: &RawValue = serde_json::from_str(text).map_err(|e| src.syntax(&e))?;
    src.expect(root_raw, JsonKind::Object, "(root)", 1)?;
    let root = read_root(&src, root_raw)?;

    let (Some(kind), Some(version), Some((devices_raw, devices))) =
        (root.kind, root.version, root.devices)
    else {
        let what = if root.kind.is_none() {
            ".type"
        } else if root.version.is_none() {
            ".version"
        } else {
            ".devices[]"
        };
        return Err(src.error(1, JsonProblem::MissingRootKey { what }));
    };

    let kind_line = src.member_line(kind);
    let kind_value = src.string(kind, kind_line)?;
    if kind_value != MANIFEST_TYPE {
        return Err(src.error(
            kind_line,
            JsonProblem::BadType {
                found: quote(kind_value.as_bytes()),
            },
        ));
    }
    if version.get().parse::<i64>() != Ok(i64::from(corten_abi::mft::MFT_VERSION)) {
        return Err(src.error(
            src.member_line(version),
            JsonProblem::BadVersion {
                found: version.get().to_owned(),
            },
        ));
    }
    if devices.len() > MAX_DEVICES {
        return Err(src.error(
            src.member_line(devices_raw),
            JsonProblem::TooManyDevices {
                count: devices.len(),
            },
        ));
    }

    let mut out: Vec<Device> = Vec::with_capacity(devices.len());
    for (index, raw) in devices.into_iter().enumerate() {
        let device = read_device(&src, index, raw, &out)?;
        out.push(device);
    }
    Ok(Manifest { devices: out })
}

fn read_root<'a>(src: &Source<'a>, root_raw: &'a RawValue) -> Result<Root<'a>, JsonError> {
    let mut root = Root::default();
    for (key, value) in src.members(root_raw, 1)?.0 {
        let line = src.member_line(value);
        let duplicate = |src: &Source<'_>, key: String| {
            src.error(
                line,
                JsonProblem::DuplicateKey {
                    path: "(root)".into(),
                    key,
                },
            )
        };
        match key.as_str() {
            "type" => {
                src.expect(value, JsonKind::String, ".type", line)?;
                if root.kind.replace(value).is_some() {
                    return Err(duplicate(src, key));
                }
            }
            "version" => {
                src.expect(value, JsonKind::Integer, ".version", line)?;
                if root.version.replace(value).is_some() {
                    return Err(duplicate(src, key));
                }
            }
            "devices" => {
                src.expect(value, JsonKind::Array, ".devices", line)?;
                let elements = src.elements(value, line)?;
                for (i, element) in elements.iter().enumerate() {
                    src.expect(
                        element,
                        JsonKind::Object,
                        format_args!(".devices[{i}]"),
                        src.element_line(element),
                    )?;
                }
                if root.devices.replace((value, elements)).is_some() {
                    return Err(duplicate(src, key));
                }
            }
            _ => {
                return Err(src.error(
                    line,
                    JsonProblem::UnknownKey {
                        path: "(root)".into(),
                        key,
                    },
                ))
            }
        }
    }
    Ok(root)
}

fn read_device(
    src: &Source<'_>,
    index: usize,
    raw: &RawValue,
    earlier: &[Device],
) -> Result<Device, JsonError> {
    let device_line = src.element_line(raw);
    let members = src.members(raw, device_line)?.0;

    // Name the device in every message once its name is known to be a
    // string, even for problems found before the name member.
    let name_value = members
        .iter()
        .find(|(k, v)| k == "name" && kind_of(v) == JsonKind::String)
        .and_then(|(_, v)| serde_json::from_str::<String>(v.get()).ok())
        .filter(|n| !n.is_empty());
    let mut label = DeviceLabel { index, name: None };
    let named = DeviceLabel {
        index,
        name: name_value,
    };

    let mut name: Option<&RawValue> = None;
    let mut kind: Option<&RawValue> = None;
    for (key, value) in &members {
        let line = src.member_line(value);
        let slot = match key.as_str() {
            "name" => &mut name,
            "type" => &mut kind,
            _ => {
                return Err(src.error(
                    line,
                    JsonProblem::UnknownKey {
                        path: named.to_string(),
                        key: key.clone(),
                    },
                ))
            }
        };
        src.expect(value, JsonKind::String, format_args!("{label}.{key}"), line)?;
        if slot.replace(value).is_some() {
            return Err(src.error(
                line,
                JsonProblem::DuplicateKey {
                    path: named.to_string(),
                    key: key.clone(),
                },
            ));
        }
    }

    let Some(name_raw) = name else {
        return Err(src.error(
            device_line,
            JsonProblem::MissingDeviceKey {
                device: label,
                key: "name",
            },
        ));
    };
    let name_line = src.member_line(name_raw);
    let name = src.string(name_raw, name_line)?;
    if !name.is_empty() {
        label.name = Some(name.clone());
    }
    check_name(name.as_bytes()).map_err(|source| {
        src.error(
            name_line,
            JsonProblem::Name {
                device: label.clone(),
                source,
            },
        )
    })?;
    if let Some(first) = earlier.iter().position(|d| d.name == name) {
        return Err(src.error(
            name_line,
            JsonProblem::DuplicateName {
                device: label,
                first,
            },
        ));
    }

    let Some(kind_raw) = kind else {
        return Err(src.error(
            device_line,
            JsonProblem::MissingDeviceKey {
                device: label,
                key: "type",
            },
        ));
    };
    let kind_line = src.member_line(kind_raw);
    let kind_name = src.string(kind_raw, kind_line)?;
    let Some(kind) = DeviceType::from_name(&kind_name) else {
        return Err(src.error(
            kind_line,
            JsonProblem::UnknownType {
                device: label,
                found: quote(kind_name.as_bytes()),
            },
        ));
    };
    Ok(Device { name, kind })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse("m.json", text).unwrap_err().to_string()
    }

    fn doc(devices: &str) -> String {
        format!("{{\n  \"type\": \"solo5.manifest\",\n  \"version\": 1,\n  \"devices\": [\n{devices}\n  ]\n}}\n")
    }

    #[test]
    fn parses_upstream_example() {
        let m = parse(
            "x",
            r#"{
    "type": "solo5.manifest",
    "version": 1,
    "devices": [
        { "name": "service0", "type": "NET_BASIC" },
        { "name": "storage", "type": "BLOCK_BASIC" }
    ]
}"#,
        )
        .unwrap();
        assert_eq!(
            m.devices,
            vec![
                Device {
                    name: "service0".into(),
                    kind: DeviceType::NetBasic
                },
                Device {
                    name: "storage".into(),
                    kind: DeviceType::BlockBasic
                },
            ]
        );
    }

    #[test]
    fn accepts_no_devices_and_any_key_order() {
        let m = parse(
            "x",
            r#"{"devices": [], "version": 1, "type": "solo5.manifest"}"#,
        )
        .unwrap();
        assert!(m.devices.is_empty());
        let m = parse(
            "x",
            r#"{"devices": [{"type": "BLOCK_BASIC", "name": "d"}], "version": 1, "type": "solo5.manifest"}"#,
        )
        .unwrap();
        assert_eq!(m.devices[0].kind, DeviceType::BlockBasic);
    }

    #[test]
    fn syntax_errors_have_lines() {
        assert_eq!(
            err("{\n  \"type\": \"solo5.manifest\",\n  \"version\": 1,,\n}"),
            "m.json:3: JSON parse error: key must be a string (column 16)"
        );
        assert!(err("").starts_with("m.json:1: JSON parse error: EOF while parsing a value"));
        assert!(err("{} x").starts_with("m.json:1: JSON parse error: trailing characters"));
    }

    #[test]
    fn bytes_must_be_utf8_and_bounded() {
        let e = parse_bytes("m.json", b"{\n\"type\": \"\xff\"}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "m.json:2: JSON parse error: manifest source is not UTF-8 text"
        );
        let big = vec![b' '; MAX_SOURCE_SIZE + 1];
        assert!(matches!(
            parse_bytes("m.json", &big).unwrap_err().problem,
            JsonProblem::TooLarge
        ));
    }

    #[test]
    fn root_must_be_object() {
        assert_eq!(
            err("\n\n[]"),
            "m.json:1: (root): expected OBJECT, got ARRAY"
        );
        assert_eq!(err("1.5"), "m.json:1: (root): expected OBJECT, got REAL");
    }

    #[test]
    fn root_member_kinds() {
        assert_eq!(
            err("{\n\"type\":\n 1}"),
            "m.json:2: .type: expected STRING, got INTEGER"
        );
        assert_eq!(
            err("{\"version\": \"1\"}"),
            "m.json:1: .version: expected INTEGER, got STRING"
        );
        assert_eq!(
            err("{\"version\": 1.0}"),
            "m.json:1: .version: expected INTEGER, got REAL"
        );
        assert_eq!(
            err("{\"version\": 1e0}"),
            "m.json:1: .version: expected INTEGER, got REAL"
        );
        assert_eq!(
            err("{\"devices\": {}}"),
            "m.json:1: .devices: expected ARRAY, got OBJECT"
        );
        assert_eq!(
            err("{\"devices\": [{},\n null]}"),
            "m.json:2: .devices[1]: expected OBJECT, got NULL"
        );
        assert_eq!(
            err("{\"devices\": [true]}"),
            "m.json:1: .devices[0]: expected OBJECT, got BOOLEAN"
        );
    }

    #[test]
    fn root_unknown_and_duplicate_keys() {
        assert_eq!(
            err("{\n\"type\": \"solo5.manifest\",\n\"extra\": 0}"),
            "m.json:3: (root): unknown key: extra"
        );
        assert_eq!(
            err("{\"devices\": [],\n\"devices\": []}"),
            "m.json:2: (root): duplicate key: devices"
        );
    }

    #[test]
    fn keys_are_escaped_in_messages() {
        assert_eq!(
            err("{\"a\\nb\": 1}"),
            "m.json:1: (root): unknown key: a\\nb"
        );
    }

    #[test]
    fn root_missing_keys() {
        assert_eq!(err("\n{}"), "m.json:1: missing .type");
        assert_eq!(err("{\"type\": \"x\"}"), "m.json:1: missing .version");
        assert_eq!(
            err("{\"type\": \"x\", \"version\": 1}"),
            "m.json:1: missing .devices[]"
        );
    }

    #[test]
    fn type_and_version_values() {
        assert_eq!(
            err("{\"type\": \"solo5.abi\", \"version\": 1, \"devices\": []}"),
            "m.json:1: .type: invalid value, expected \"solo5.manifest\", got \"solo5.abi\""
        );
        assert_eq!(
            err("{\"type\": \"solo5.manifest\",\n\"version\": 2, \"devices\": []}"),
            "m.json:2: .version: invalid version 2, expected 1"
        );
        assert_eq!(
            err("{\"type\": \"solo5.manifest\", \"version\": 99999999999999999999, \"devices\": []}"),
            "m.json:1: .version: invalid version 99999999999999999999, expected 1"
        );
    }

    #[test]
    fn at_most_63_devices() {
        let dev = |i: usize| format!("    {{ \"name\": \"d{i}\", \"type\": \"BLOCK_BASIC\" }}");
        let ok: Vec<String> = (0..63).map(dev).collect();
        assert_eq!(parse("x", &doc(&ok.join(",\n"))).unwrap().devices.len(), 63);
        let many: Vec<String> = (0..64).map(dev).collect();
        assert_eq!(
            err(&doc(&many.join(",\n"))),
            "m.json:4: .devices[]: too many entries, maximum 63 (found 64)"
        );
    }

    #[test]
    fn device_member_kinds_and_keys() {
        assert_eq!(
            err(&doc("{\"name\": 5, \"type\": \"NET_BASIC\"}")),
            "m.json:5: .devices[0].name: expected STRING, got INTEGER"
        );
        assert_eq!(
            err(&doc("{\"name\": \"n\",\n \"type\": []}")),
            "m.json:6: .devices[0].type: expected STRING, got ARRAY"
        );
        assert_eq!(
            err(&doc(
                "{\"name\": \"n\", \"type\": \"NET_BASIC\",\n \"mac\": \"x\"}"
            )),
            "m.json:6: .devices[0] (\"n\"): unknown key: mac"
        );
        assert_eq!(
            err(&doc(
                "{\"name\": \"n\", \"name\": \"m\", \"type\": \"NET_BASIC\"}"
            )),
            "m.json:5: .devices[0] (\"n\"): duplicate key: name"
        );
    }

    #[test]
    fn device_missing_keys() {
        assert_eq!(
            err(&doc("{},\n\n{\"type\": \"NET_BASIC\"}")),
            "m.json:5: .devices[0]: missing .name"
        );
        assert_eq!(
            err(&doc(
                "{\"name\": \"a\", \"type\": \"NET_BASIC\"},\n\n{\"type\": \"NET_BASIC\"}"
            )),
            "m.json:7: .devices[1]: missing .name"
        );
        assert_eq!(
            err(&doc("{\"name\": \"a\"}")),
            "m.json:5: .devices[0] (\"a\"): missing .type"
        );
    }

    #[test]
    fn device_names() {
        assert_eq!(
            err(&doc("{\"name\": \"\", \"type\": \"NET_BASIC\"}")),
            "m.json:5: .devices[0]: .name may not be empty"
        );
        let long = "a".repeat(68);
        assert_eq!(
            err(&doc(&format!(
                "{{\"name\": \"{long}\", \"type\": \"NET_BASIC\"}}"
            ))),
            format!("m.json:5: .devices[0] (\"{long}\"): name too long (68 bytes, maximum 67)")
        );
        let ok = "a".repeat(67);
        assert!(parse(
            "x",
            &doc(&format!("{{\"name\": \"{ok}\", \"type\": \"NET_BASIC\"}}"))
        )
        .is_ok());
        assert_eq!(
            err(&doc("{\"type\": \"NET_BASIC\", \"name\"\n:\n \"net_0\"}")),
            "m.json:6: .devices[0] (\"net_0\"): name is not alphanumeric ('_' at offset 3); \
             use only ASCII letters and digits"
        );
        assert_eq!(
            err(&doc("{\"name\": \"n\\u00e9\", \"type\": \"NET_BASIC\"}")),
            "m.json:5: .devices[0] (\"n\\xc3\\xa9\"): name is not alphanumeric (byte 0xc3 at offset 1); \
             use only ASCII letters and digits"
        );
    }

    #[test]
    fn device_names_unique() {
        assert_eq!(
            err(&doc(
                "{\"name\": \"a\", \"type\": \"NET_BASIC\"},\n{\"name\": \"b\", \"type\": \"NET_BASIC\"},\n{\"name\": \"a\", \"type\": \"BLOCK_BASIC\"}"
            )),
            "m.json:7: .devices[2] (\"a\"): duplicate name, already used by .devices[0]"
        );
    }

    #[test]
    fn device_types() {
        assert_eq!(
            err(&doc("{\"name\": \"a\", \"type\": \"BLOCK\"}")),
            "m.json:5: .devices[0] (\"a\"): unknown device type \"BLOCK\", expected \"BLOCK_BASIC\" or \"NET_BASIC\""
        );
        assert_eq!(
            err(&doc("{\"name\": \"a\", \"type\": \"RESERVED_FIRST\"}")),
            "m.json:5: .devices[0] (\"a\"): unknown device type \"RESERVED_FIRST\", expected \"BLOCK_BASIC\" or \"NET_BASIC\""
        );
    }

    #[test]
    fn errors_follow_upstream_order() {
        // The device count is checked before any device.
        let mut many: Vec<String> = vec!["{}".into(); 64];
        many[0] = "{\"name\": \"-\"}".into();
        assert!(err(&doc(&many.join(","))).contains("too many entries, maximum 63"));
        // .type value before .version value.
        assert!(err("{\"type\": \"x\", \"version\": 7, \"devices\": []}")
            .contains(".type: invalid value"));
        // Member kinds are checked while reading the root, before missing keys.
        assert!(err("{\"devices\": [1]}").contains(".devices[0]: expected OBJECT"));
    }
}
