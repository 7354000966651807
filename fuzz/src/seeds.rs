//! The seed corpora of the fuzz targets, written into `OUT/<target>/` by the `seeds` binary
//! (scripts/fuzz runs it).
//!
//! Seeds are real documents and the project's own renderings, never committed: synthetic
//! patients of the spine's seeded population (999-range NHS numbers) rendered as uploads,
//! `$summary` documents and offline-view Bundles, and the IPS documents of other vendors from
//! `../shared/interop/ips` (large ones thinned to keep libFuzzer fast), also recast as uploads.

use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use scr_model::fhir::{
    offline_views_bundle, summary_document, upload_bundle, SummaryDocumentInput, Upload,
};
use scr_model::{NhsNumber, OfflineView};
use scr_spine::config::SpineConfig;
use scr_demo::seed;
use serde_json::{json, Value};

/// Documents above this are thinned (long narratives cut, long lists shortened).
const THIN_ABOVE: usize = 128 * 1024;

fn write(out: &Path, target: &str, name: &str, bytes: &[u8]) {
    let dir = out.join(target);
    std::fs::create_dir_all(&dir).expect("seed folder");
    std::fs::write(dir.join(name), bytes).expect("seed file");
}

fn json_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("json")
}

/// Cuts every string to 200 characters and every list to 25 elements.
fn thin(v: &mut Value) {
    match v {
        Value::String(s) if s.chars().count() > 200 => *s = s.chars().take(200).collect(),
        Value::Array(a) => {
            a.truncate(25);
            a.iter_mut().for_each(thin);
        }
        Value::Object(o) => o.values_mut().for_each(thin),
        _ => {}
    }
}

/// An IPS document recast as a GP upload: transaction type, an identifier, and a 999-range
/// NHS number on its Patient.
fn as_upload(doc: &Value, n: u32) -> Value {
    let mut b = doc.clone();
    b["type"] = json!("transaction");
    b["identifier"] = json!({ "system": "https://fhir.scr-viewer.example/Id/upload", "value": format!("ips-{n}") });
    if let Some(entries) = b.get_mut("entry").and_then(Value::as_array_mut) {
        for e in entries {
            let Some(r) = e.get_mut("resource") else {
                continue;
            };
            if r.get("resourceType").and_then(Value::as_str) == Some("Patient") {
                let number = NhsNumber::nth_test_number(n).expect("test number");
                let ids = r
                    .as_object_mut()
                    .map(|o| o.entry("identifier").or_insert_with(|| json!([])));
                if let Some(Value::Array(ids)) = ids {
                    ids.push(json!({ "system": "https://fhir.nhs.uk/Id/nhs-number", "value": number.as_digits() }));
                }
            }
        }
    }
    b
}

/// Every narrative (`div`) in a document, for `fhir_narrative`.
fn divs(v: &Value, found: &mut std::collections::BTreeSet<String>) {
    match v {
        Value::Object(o) => {
            for (k, v) in o {
                match (k.as_str(), v) {
                    ("div", Value::String(d)) => {
                        found.insert(d.clone());
                    }
                    _ => divs(v, found),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| divs(v, found)),
        _ => {}
    }
}

/// Writes every target's seeds under `out`; the IPS documents are read from `ips`.
pub fn write_all(out: &Path, ips: Option<&Path>) {
    let mut narratives = std::collections::BTreeSet::new();
    let at = |h: u32, m: u32| {
        Utc.with_ymd_and_hms(2026, 11, 24, h, m, 5)
            .single()
            .expect("time")
    };

    // Synthetic patients: uploads, $summary documents, offline views.
    let mut rng = ChaCha8Rng::seed_from_u64(20261124);
    let practices = seed::practices(10_000, &mut rng);
    let mut views = Vec::new();
    for i in 0..40u32 {
        let Some(row) = seed::patient(i, 20261124, &practices) else {
            continue;
        };
        let upload = Upload {
            bundle_id: format!("fuzz-seed-{i}"),
            patient: row.demographics.clone(),
            summary: row.summary.clone(),
            consent: row.consent.clone(),
            care: Vec::new(),
        };
        write(
            out,
            "fhir_upload",
            &format!("synthetic-{i}.json"),
            &json_bytes(&upload_bundle(&upload)),
        );
        if let Some(summary) = &row.summary {
            let doc = summary_document(&SummaryDocumentInput {
                patient: &row.demographics,
                summary,
                document_id: &format!("fuzz-doc-{i}"),
                generated_at: at(10, i % 60),
            });
            write(
                out,
                "fhir_document",
                &format!("synthetic-{i}.json"),
                &json_bytes(&doc),
            );
            divs(&doc, &mut narratives);
        }
        views.push(OfflineView {
            id: format!("{:032x}", u128::from(i) * 7919 + 1),
            nhs_number: row.demographics.nhs_number,
            reason: if i % 3 == 0 {
                "emergency"
            } else {
                "permission-to-view"
            }
            .into(),
            viewed_at: at(12, i % 60),
            fetched_at: at(8, 0),
        });
    }
    for n in [0usize, 1, 2, 5, 20] {
        let b = offline_views_bundle(&views[..n.min(views.len())]);
        write(
            out,
            "fhir_offline_views",
            &format!("views-{n}.json"),
            &json_bytes(&b),
        );
    }

    // Other vendors' IPS documents.
    if let Some(dir) = ips {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        for (n, path) in files.iter().enumerate() {
            let bytes = std::fs::read(path).expect("read IPS document");
            let name = path
                .file_name()
                .and_then(|f| f.to_str())
                .unwrap_or("ips.json");
            let Ok(mut doc) = serde_json::from_slice::<Value>(&bytes) else {
                write(out, "fhir_document", name, &bytes);
                continue;
            };
            divs(&doc, &mut narratives);
            if bytes.len() > THIN_ABOVE {
                thin(&mut doc);
            }
            write(out, "fhir_document", name, &json_bytes(&doc));
            write(
                out,
                "fhir_upload",
                name,
                &json_bytes(&as_upload(&doc, 100 + n as u32)),
            );
        }
    }

    // Narratives as sent (before any thinning), and the awkward ones of narrative.rs's tests.
    narratives.extend(
        [
            "<div><script>alert(1)</script><style>p{}</style><p onclick=\"x()\">Peni<a href=\"javascript:x\">cillin</a> &lt;img src=x onerror=y&gt;</p></div>",
            "<div><p>Penicillin allergy</p><p>Latex <",
            "<div><p>Penicillin</span></p></div>",
            "<div xmlns=\"http://www.w3.org/1999/xhtml\">  <p> </p>&nbsp;</div>",
            "<div><h3>A</h3><p>b &amp; c</p><ul><li>d</li></ul><table><tr><td>e</td><td>f</td></tr></table><p>g</p></div>",
            "<div><table><tr><th>Substance</th><th>Reaction</th></tr><tr><td>Aspirin</td><td>Wheeze<br/>and rash</td><td/></tr></table><![CDATA[a < b]]>&#8211;&#x2014;&unknown;&#0;<!-- c --></div>",
        ]
        .map(str::to_string),
    );
    for (i, d) in narratives.iter().enumerate() {
        write(
            out,
            "fhir_narrative",
            &format!("narrative-{i}.xhtml"),
            d.as_bytes(),
        );
    }

    // Trace queries, as the raw query string.
    for (i, q) in [
        "family=Smith&birthdate=1970-03-12",
        "family=Sm*&birthdate=eq1970-03-12&gender=female",
        "family=Smith&given=Jane&birthdate=1970-03-12&_fuzzy-match=true",
        "family=Smyth&birthdate=1970-12-03&gender=female&address-postalcode=LS1%204AB&_fuzzy-match=true",
        "given=Jane&birthdate=1970-03-12&gender=female&address-postcode=ls14ab&_fuzzy-match=true",
        "family=Smith&birthdate=ge1960-01-01&birthdate=le1980-12-31&_max-results=50",
        "family=Smith&birthdate=le1970-03-12&_exact-match=true",
        "family=%C3%89lise&birthdate=ge1970-03-12",
    ]
    .iter()
    .enumerate()
    {
        write(out, "trace_query", &format!("query-{i}"), q.as_bytes());
    }

    for (i, n) in [
        "9990000018",
        "999 000 0018",
        "999-000-0018",
        " 943 476 5919 ",
        "9434765918",
    ]
    .iter()
    .enumerate()
    {
        write(out, "nhs_number", &format!("number-{i}"), n.as_bytes());
    }

    let spine = SpineConfig::default().to_toml();
    write(out, "spine_config", "default.toml", spine.as_bytes());
    write(
        &out,
        "spine_config",
        "postgres.toml",
        b"listen = \"0.0.0.0:8443\"\ndatabase = \"postgres://scr@localhost/scr\"\nsession_idle_secs = 600\nmax_db_connections = 32\n",
    );

    let app = "spine_url = \"https://localhost:8443\"\nca_file = \"ca.pem\"\ndata_dir = \"data\"\n";
    write(out, "app_config", "minimal.toml", app.as_bytes());
    write(
        &out,
        "app_config",
        "offline.toml",
        format!("{app}offline_max_age_hours = 168\noffline_max_entries = 10000\n").as_bytes(),
    );
    write(
        &out,
        "app_config",
        "env.toml",
        format!("{app}\0SCR_SPINE_URL=https://spine.example\0SCR_OFFLINE_MAX_AGE_HOURS=12")
            .as_bytes(),
    );

    crate::card_seeds::write_all(out);
}
