//! `scripts/bench render`: the CPU one `$summary` spends turning a stored summary into the
//! bytes it sends, on one thread, without the network or the database: parse the stored JSON,
//! render the FHIR document, serialise it. Seeded patients (the bench population), so the
//! figure follows the documents the spine serves. Prints figures; asserts nothing.

use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use scr_model::fhir::{summary_document, SummaryDocumentInput};

fn main() -> anyhow::Result<()> {
    let patients: u32 = std::env::var("SCR_BENCH_PATIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let rounds: u32 = std::env::var("SCR_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let practices = scr_demo::seed::practices(patients, &mut ChaCha8Rng::seed_from_u64(42));
    // As the store holds them: the summary as JSON text.
    let mut stored = Vec::new();
    for i in 0..patients {
        let Some(row) = scr_demo::seed::patient(i, 42, &practices) else {
            continue;
        };
        if let Some(summary) = &row.summary {
            stored.push((row.demographics.clone(), serde_json::to_string(summary)?));
        }
    }
    let generated_at = chrono::Utc::now();
    let (mut parse_ns, mut render_ns, mut write_ns, mut bytes, mut n) =
        (0u128, 0u128, 0u128, 0usize, 0u128);
    for _ in 0..rounds {
        for (i, (patient, json)) in stored.iter().enumerate() {
            let t0 = Instant::now();
            let summary: scr_model::Summary = serde_json::from_str(json)?;
            let t1 = Instant::now();
            let doc = summary_document(&SummaryDocumentInput {
                patient,
                summary: &summary,
                document_id: &format!("bench-{i}"),
                generated_at,
            });
            let t2 = Instant::now();
            let body = serde_json::to_vec(&doc)?;
            let t3 = Instant::now();
            parse_ns += (t1 - t0).as_nanos();
            render_ns += (t2 - t1).as_nanos();
            write_ns += (t3 - t2).as_nanos();
            bytes += body.len();
            n += 1;
        }
    }
    let us = |ns: u128| ns as f64 / n.max(1) as f64 / 1000.0;
    println!(
        "documents={n} mean_bytes={} parse_us={:.1} render_us={:.1} serialise_us={:.1} total_us={:.1}",
        bytes / (n.max(1) as usize),
        us(parse_ns),
        us(render_ns),
        us(write_ns),
        us(parse_ns + render_ns + write_ns)
    );
    Ok(())
}
