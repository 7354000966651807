//! Shared by the fuzz targets: a structure-aware mutator for the FHIR JSON targets.
//!
//! libFuzzer's byte mutations alone rarely keep a 50 kB Bundle valid JSON, so most inputs
//! would stop at `serde_json`. Two times in three this mutator parses the input, changes one
//! to three JSON values (another type, an awkward string or number, a deleted or duplicated
//! member, a subtree copied elsewhere, deep nesting) and writes it back; otherwise, or when
//! the input is not JSON, it leaves the change to libFuzzer's own mutations.

use serde_json::{Map, Number, Value};

/// A small deterministic generator (xorshift64*), seeded by libFuzzer.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u32) -> Rng {
        Rng(u64::from(seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Strings the parsers branch on, and awkward ones.
const STRINGS: &[&str] = &[
    "",
    " ",
    "Bundle",
    "Patient",
    "Composition",
    "AllergyIntolerance",
    "MedicationStatement",
    "MedicationRequest",
    "Medication",
    "Condition",
    "Consent",
    "Organization",
    "Practitioner",
    "AuditEvent",
    "document",
    "transaction",
    "collection",
    "searchset",
    "official",
    "https://fhir.nhs.uk/Id/nhs-number",
    "https://fhir.nhs.uk/Id/ods-organization-code",
    "http://snomed.info/sct",
    "http://loinc.org",
    "http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips",
    "https://fhir.scr-viewer.example/CodeSystem/audit-action",
    "https://fhir.scr-viewer.example/CodeSystem/access-reason",
    "https://fhir.scr-viewer.example/StructureDefinition/medication-kind",
    "48765-2",
    "10160-0",
    "11450-4",
    "716186003",
    "no-known-allergies",
    "no-allergy-info",
    "no-problem-info",
    "offline-view",
    "view-id",
    "fetched-at",
    "permission-to-view",
    "emergency",
    "9Ndl",
    "9Ndo",
    "93C3",
    "R",
    "active",
    "resolved",
    "confirmed",
    "unconfirmed",
    "severe",
    "high",
    "9990000018",
    "999 000 0018",
    "9434765919",
    "9434765918",
    "0000000000",
    "99900000180",
    "1970",
    "1970-13",
    "1970-03",
    "-999",
    "1970-02-30",
    "1970-03-12",
    "+262143-12-31",
    "2026-11-24T10:15:30.000Z",
    "2026-11-24T10:15:30+25:00",
    "2026-11-24 10:15:30Z",
    "9999-12-31T23:59:60.999999999-23:59",
    "#",
    "#p1",
    "urn:uuid:",
    "urn:uuid:p1",
    "Patient/",
    "/Patient/p1",
    "Patient/p1/_history/",
    "https://example.org/fhir/Patient/p1/_history/2",
    "00000000000000000000000000000000",
    "<div xmlns=\"http://www.w3.org/1999/xhtml\">é</div>",
    "<table><tr><td>",
    "</td></tr></table>",
    "<li>",
    "<br/>",
    "<script>",
    "<![CDATA[",
    "]]>",
    "<!--",
    "&nbsp;",
    "&#x0;",
    "&#1114112;",
    "&unknown;",
    "\u{0}",
    "\u{feff}",
    "é",
    "İ",
    "ß",
    "\u{10ffff}",
];

fn number(rng: &mut Rng) -> Value {
    match rng.below(10) {
        0 => Value::from(0),
        1 => Value::from(-1),
        2 => Value::from(u64::MAX),
        3 => Value::from(i64::MIN),
        4 => Number::from_f64(1e308)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        5 => Number::from_f64(-0.5)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        6 => Value::from(1000),
        7 => Value::from(1001),
        8 => Value::from(rng.next() as i64),
        _ => Value::from(rng.below(12) as u64),
    }
}

fn string(rng: &mut Rng, old: Option<&str>) -> Value {
    match (rng.below(7), old) {
        (6, Some(s)) if s.contains('<') => {
            // Markup (a narrative's XHTML): libFuzzer's byte mutations inside the string,
            // which the JSON changes above would never make.
            let mut bytes = s.as_bytes().to_vec();
            let size = bytes.len();
            bytes.resize(size * 2 + 64, 0);
            let max = bytes.len();
            let n = libfuzzer_sys::fuzzer_mutate(&mut bytes, size, max);
            Value::String(String::from_utf8_lossy(&bytes[..n]).into_owned())
        }
        (0, Some(s)) => {
            // Cut it at a character boundary.
            let cut: Vec<char> = s.chars().collect();
            let n = rng.below(cut.len() + 1);
            Value::String(cut[..n].iter().collect())
        }
        (1, Some(s)) => Value::String(format!("{s}{}", rng.pick(STRINGS))),
        (2, Some(s)) => {
            // Change one character.
            let mut chars: Vec<char> = s.chars().collect();
            if !chars.is_empty() {
                let i = rng.below(chars.len());
                chars[i] = *rng.pick(&['0', '9', '-', ' ', '*', '/', 'T', 'Z', 'x', 'é', '#']);
            }
            Value::String(chars.into_iter().collect())
        }
        (3, _) => Value::String("x".repeat(rng.below(300))),
        _ => Value::String(rng.pick(STRINGS).to_string()),
    }
}

fn count(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count).sum(),
        Value::Object(o) => o.values().map(count).sum(),
        _ => 0,
    }
}

/// The `n`-th node in pre-order.
fn nth_mut<'a>(v: &'a mut Value, n: &mut usize) -> Option<&'a mut Value> {
    if *n == 0 {
        return Some(v);
    }
    *n -= 1;
    match v {
        Value::Array(a) => a.iter_mut().find_map(|c| nth_mut(c, n)),
        Value::Object(o) => o.values_mut().find_map(|c| nth_mut(c, n)),
        _ => None,
    }
}

fn nth(v: &Value, n: &mut usize) -> Option<Value> {
    if *n == 0 {
        return Some(v.clone());
    }
    *n -= 1;
    match v {
        Value::Array(a) => a.iter().find_map(|c| nth(c, n)),
        Value::Object(o) => o.values().find_map(|c| nth(c, n)),
        _ => None,
    }
}

/// Changes one value somewhere in `root`.
fn mutate_once(root: &mut Value, rng: &mut Rng) {
    let total = count(root);
    // A copy of some other subtree, taken before the target is borrowed.
    let donor = nth(root, &mut rng.below(total)).unwrap_or(Value::Null);
    let Some(target) = nth_mut(root, &mut rng.below(total)) else {
        return;
    };
    match rng.below(12) {
        0 => *target = Value::Null,
        1 => *target = Value::Bool(rng.below(2) == 0),
        2 => *target = number(rng),
        3 | 4 => {
            let old = target.as_str().map(str::to_string);
            *target = string(rng, old.as_deref());
        }
        5 => *target = donor,
        6 => match target {
            // Drop a member or an element.
            Value::Object(o) if !o.is_empty() => {
                let k = o
                    .keys()
                    .nth(rng.below(o.len()))
                    .cloned()
                    .unwrap_or_default();
                o.remove(&k);
            }
            Value::Array(a) if !a.is_empty() => {
                let i = rng.below(a.len());
                a.remove(i);
            }
            _ => *target = Value::Array(vec![]),
        },
        7 => match target {
            // Duplicate an element (duplicate ids, two Patients, two Compositions).
            Value::Array(a) if !a.is_empty() => {
                let e = a[rng.below(a.len())].clone();
                let i = rng.below(a.len() + 1);
                a.insert(i, e);
            }
            Value::Object(o) => {
                let key = rng.pick(STRINGS).to_string();
                o.insert(key, donor);
            }
            other => *other = Value::Array(vec![other.clone(), donor]),
        },
        8 => {
            // One member more, with a key the parsers look for.
            const KEYS: &[&str] = &[
                "resourceType",
                "type",
                "entry",
                "resource",
                "fullUrl",
                "reference",
                "id",
                "identifier",
                "system",
                "value",
                "code",
                "coding",
                "display",
                "text",
                "div",
                "section",
                "subject",
                "contained",
                "extension",
                "url",
                "subtype",
                "entity",
                "what",
                "detail",
                "valueString",
                "recorded",
                "purposeOfEvent",
                "emptyReason",
                "verificationStatus",
                "clinicalStatus",
                "reaction",
                "severity",
                "criticality",
                "medicationReference",
                "medicationCodeableConcept",
                "birthDate",
                "name",
                "family",
                "given",
                "prefix",
                "meta",
                "security",
                "category",
                "dateTime",
            ];
            let mut o = match std::mem::take(target) {
                Value::Object(o) => o,
                other => {
                    let mut m = Map::new();
                    m.insert("value".into(), other);
                    m
                }
            };
            o.insert(rng.pick(KEYS).to_string(), donor);
            *target = Value::Object(o);
        }
        9 => *target = Value::Array(vec![std::mem::take(target)]),
        10 => {
            // Deep nesting: past serde_json's recursion limit (128) now and then.
            let depth = 1 + rng.below(140);
            let mut v = std::mem::take(target);
            for _ in 0..depth {
                v = if rng.below(2) == 0 {
                    Value::Array(vec![v])
                } else {
                    let mut m = Map::new();
                    m.insert("entry".into(), v);
                    Value::Object(m)
                };
            }
            *target = v;
        }
        _ => {
            // Unwrap a one-element array or pick a member's value.
            let inner = match target {
                Value::Array(a) if !a.is_empty() => Some(a.swap_remove(0)),
                Value::Object(o) if !o.is_empty() => {
                    let k = o.keys().next().cloned().unwrap_or_default();
                    o.remove(&k)
                }
                _ => None,
            };
            if let Some(inner) = inner {
                *target = inner;
            }
        }
    }
}

/// The mutator of the JSON targets (see the module comment). Returns the new size.
pub fn mutate_json(data: &mut [u8], size: usize, max_size: usize, seed: u32) -> usize {
    let mut rng = Rng::new(seed);
    if rng.below(3) == 0 {
        return libfuzzer_sys::fuzzer_mutate(data, size, max_size);
    }
    let Ok(mut value) = serde_json::from_slice::<Value>(&data[..size]) else {
        return libfuzzer_sys::fuzzer_mutate(data, size, max_size);
    };
    for _ in 0..1 + rng.below(3) {
        mutate_once(&mut value, &mut rng);
    }
    match serde_json::to_vec(&value) {
        Ok(out) if out.len() <= max_size => {
            data[..out.len()].copy_from_slice(&out);
            out.len()
        }
        _ => libfuzzer_sys::fuzzer_mutate(data, size, max_size),
    }
}

pub mod card;
mod card_seeds;
pub mod narrative;
pub mod seeds;
