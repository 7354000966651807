//! Finding the resource a reference points at, as real Bundles write references:
//! `urn:uuid:…` full URLs, relative `Type/id`, absolute URLs ending in `Type/id`, and
//! `#id` for contained resources.

use std::collections::HashMap;

use serde_json::Value;

pub(crate) struct Resolver<'a> {
    by_url: HashMap<String, &'a Value>,
}

impl<'a> Resolver<'a> {
    pub fn new(entries: &'a [Value]) -> Resolver<'a> {
        let mut by_url = HashMap::new();
        for e in entries {
            let Some(resource) = e.get("resource").filter(|r| r.is_object()) else {
                continue;
            };
            if let Some(url) = e.get("fullUrl").and_then(Value::as_str) {
                by_url.insert(url.to_string(), resource);
                // An absolute fullUrl `…/Patient/123` also answers `Patient/123`.
                if let Some(rel) = relative_tail(url) {
                    by_url.entry(rel).or_insert(resource);
                }
            }
            if let (Some(kind), Some(id)) = (
                resource.get("resourceType").and_then(Value::as_str),
                resource.get("id").and_then(Value::as_str),
            ) {
                by_url.entry(format!("{kind}/{id}")).or_insert(resource);
                // Some documents reference by `urn:uuid:<id>` without a fullUrl.
                by_url.entry(format!("urn:uuid:{id}")).or_insert(resource);
            }
        }
        Resolver { by_url }
    }

    /// Resolves `reference` as written inside `from` (whose `contained` answers `#id`).
    pub fn resolve(&self, from: &'a Value, reference: &str) -> Option<&'a Value> {
        if let Some(local) = reference.strip_prefix('#') {
            return from
                .get("contained")
                .and_then(Value::as_array)?
                .iter()
                .find(|c| c.get("id").and_then(Value::as_str) == Some(local));
        }
        if let Some(r) = self.by_url.get(reference) {
            return Some(r);
        }
        relative_tail(reference).and_then(|rel| self.by_url.get(&rel).copied())
    }

    /// Resolves `{ "reference": … }` held at `field` of `from`.
    pub fn follow(&self, from: &'a Value, reference: &'a Value) -> Result<&'a Value, String> {
        let text = reference
            .get("reference")
            .and_then(Value::as_str)
            .ok_or_else(|| "a reference without a 'reference' value".to_string())?;
        self.resolve(from, text).ok_or_else(|| text.to_string())
    }
}

/// `https://x/fhir/Patient/123` → `Patient/123`; `Patient/123/_history/2` → `Patient/123`.
fn relative_tail(url: &str) -> Option<String> {
    let url = url.split("/_history/").next().unwrap_or(url);
    let mut parts = url.rsplit('/');
    let id = parts.next()?;
    let kind = parts.next()?;
    let starts_upper = kind.chars().next().is_some_and(|c| c.is_ascii_uppercase());
    (starts_upper && !id.is_empty()).then(|| format!("{kind}/{id}"))
}
