//! The patient record family: the demographic index (`patients`), the current summaries
//! (`summaries`) and the sharing preferences (`consents`).
//!
//! Reads are `Store` methods on the read pool. Writes are functions over a connection, so
//! the caller composes them into its own transaction: the audit writer applies an upload
//! with them inside the transaction that appends its audit entry, and the bulk loader uses
//! the same statements many rows at a time.

use scr_model::{ConsentRecord, Deceased, Demographics, NhsNumber, SharingPreference, Summary};
use sqlx::{AnyConnection, Row};

use super::rows::{self, PatientRow};
use super::{
    escape_like, now_ms, rows_per_statement, values_clause, Arg, Backend, Store, StoreError,
    StoreResult,
};
use crate::trace::{self, FamilyFilter};

/// A summary to hold for a patient, and the practice it is recorded as coming from.
pub struct SummaryToHold<'a> {
    pub nhs_number: NhsNumber,
    pub practice_ods: Option<&'a str>,
    /// When it was stored (ms).
    pub updated_at: i64,
    pub summary: &'a Summary,
}

/// A sharing preference to hold for a patient.
pub struct ConsentToHold<'a> {
    pub nhs_number: NhsNumber,
    pub consent: &'a ConsentRecord,
    /// The practice that recorded it.
    pub recorded_by_ods: Option<&'a str>,
}

impl Store {
    pub async fn patient(&self, nhs: NhsNumber) -> StoreResult<Option<Demographics>> {
        let row = sqlx::query("SELECT record FROM patients WHERE nhs_number = $1")
            .bind(nhs.as_digits())
            .fetch_optional(self.read_pool())
            .await?;
        row.map(|r| rows::demographics(&r.try_get::<String, _>("record")?))
            .transpose()
    }

    /// The patient, their current summary (absent when none was uploaded or they dissented)
    /// and their sharing preference, in one round trip.
    pub async fn summary_view(
        &self,
        nhs: NhsNumber,
    ) -> StoreResult<Option<(Demographics, Option<Summary>, Option<ConsentRecord>)>> {
        self.read_row(
            "SELECT p.record, s.summary, c.preference, c.code, c.recorded, c.recorded_by_ods \
             FROM patients p \
             LEFT JOIN summaries s ON s.nhs_number = p.nhs_number \
             LEFT JOIN consents c ON c.nhs_number = p.nhs_number \
             WHERE p.nhs_number = $1",
            &[Arg::Text(&nhs.as_digits())],
            |row| {
                let demographics = rows::demographics(&row.required_text("record")?)?;
                let summary = row
                    .text("summary")?
                    .map(|s| {
                        serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(e.to_string()))
                    })
                    .transpose()?;
                Ok((demographics, summary, rows::consent(row)?))
            },
        )
        .await
    }

    /// Candidates for a trace: everyone born on one of `birth_dates` (or in a range), further
    /// narrowed by family name or its Soundex code when given. Scoring happens in memory.
    pub async fn trace_candidates(
        &self,
        birth_dates: &[String],
        range: Option<(String, String)>,
        family_filter: Option<FamilyFilter>,
        limit: i64,
    ) -> StoreResult<Vec<Demographics>> {
        let mut sql = String::from("SELECT record FROM patients WHERE ");
        let mut binds: Vec<String> = Vec::new();
        let next = |v: String, binds: &mut Vec<String>| {
            binds.push(v);
            format!("${}", binds.len())
        };
        if let Some((from, to)) = range {
            let a = next(from, &mut binds);
            let b = next(to, &mut binds);
            sql.push_str(&format!("birth_date >= {a} AND birth_date <= {b}"));
        } else {
            let placeholders: Vec<String> = birth_dates
                .iter()
                .map(|d| next(d.clone(), &mut binds))
                .collect();
            sql.push_str(&format!("birth_date IN ({})", placeholders.join(", ")));
        }
        match family_filter {
            Some(FamilyFilter::Exact(f)) => {
                let p = next(f, &mut binds);
                sql.push_str(&format!(" AND family_upper = {p}"));
            }
            Some(FamilyFilter::Prefix(f)) => {
                let p = next(format!("{}%", escape_like(&f)), &mut binds);
                sql.push_str(&format!(" AND family_upper LIKE {p} ESCAPE '\\'"));
            }
            Some(FamilyFilter::SoundexOrPrefix { soundex, prefix }) => {
                let s = next(soundex, &mut binds);
                let p = next(format!("{}%", escape_like(&prefix)), &mut binds);
                sql.push_str(&format!(
                    " AND (family_soundex = {s} OR family_upper LIKE {p} ESCAPE '\\')"
                ));
            }
            None => {}
        }
        sql.push_str(&format!(" LIMIT {limit}"));
        let args: Vec<Arg<'_>> = binds.iter().map(|b| Arg::Text(b)).collect();
        self.read_rows(&sql, &args, usize::MAX, |row| {
            rows::demographics(&row.required_text("record")?)
        })
        .await
    }

    /// `Some(None)`: known patient, no preference recorded; `None`: unknown NHS number.
    pub async fn consent(&self, nhs: NhsNumber) -> StoreResult<Option<Option<ConsentRecord>>> {
        self.read_row(
            "SELECT p.nhs_number, c.preference, c.code, c.recorded, c.recorded_by_ods \
             FROM patients p LEFT JOIN consents c ON c.nhs_number = p.nhs_number \
             WHERE p.nhs_number = $1",
            &[Arg::Text(&nhs.as_digits())],
            |row| rows::consent(row),
        )
        .await
    }

    /// Inserts patients (with summary and consent) in one transaction, many rows per
    /// statement: seeding a million patients is dominated by round trips otherwise.
    pub async fn insert_patients_bulk(&self, batch: &[PatientRow]) -> StoreResult<()> {
        let mut tx = self.write_pool().begin().await?;
        const PATIENT_COLS: usize = 12;
        let backend = self.backend;
        for chunk in batch.chunks(rows_per_statement(PATIENT_COLS)) {
            let mut sql = String::from(
                "INSERT INTO patients (nhs_number, family, given, family_upper, given_upper, family_soundex, \
                 birth_date, gender, postcode, gp_ods, restricted, record) VALUES ",
            );
            values_clause(&mut sql, backend, chunk.len(), PATIENT_COLS);
            let mut q = sqlx::query(&sql);
            for p in chunk {
                let d = &p.demographics;
                let record =
                    serde_json::to_string(d).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let given = d.given.join(" ");
                q = q
                    .bind(d.nhs_number.as_digits())
                    .bind(d.family.clone())
                    .bind(given.clone())
                    .bind(d.family.to_uppercase())
                    .bind(given.to_uppercase())
                    .bind(trace::soundex(&d.family))
                    .bind(d.birth_date.format("%Y-%m-%d").to_string())
                    .bind(d.gender.code())
                    .bind(d.address.postcode.clone())
                    .bind(d.gp_ods.clone())
                    .bind(i64::from(d.restricted))
                    .bind(record);
            }
            q.execute(&mut *tx).await?;
        }
        let summaries: Vec<SummaryToHold> = batch
            .iter()
            .filter_map(|p| {
                let summary = p.summary.as_ref()?;
                Some(SummaryToHold {
                    nhs_number: p.demographics.nhs_number,
                    practice_ods: summary.provenance.practice_ods.as_deref(),
                    updated_at: summary
                        .provenance
                        .last_updated
                        .map(|t| t.timestamp_millis())
                        .unwrap_or_else(now_ms),
                    summary,
                })
            })
            .collect();
        hold_summaries(&mut tx, &summaries).await?;
        let consents: Vec<ConsentToHold> = batch
            .iter()
            .filter_map(|p| {
                let consent = p.consent.as_ref()?;
                Some(ConsentToHold {
                    nhs_number: p.demographics.nhs_number,
                    consent,
                    recorded_by_ods: consent.recorded_by_ods.as_deref(),
                })
            })
            .collect();
        hold_consents(&mut tx, &consents).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn patient_count(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM patients")
            .fetch_one(self.read_pool())
            .await?;
        Ok(row.try_get::<i64, _>("n")?)
    }

    /// A sample of NHS numbers (for tests, benchmarks and the demo's hints). `with_summary`:
    /// patients with a summary and an open encounter or referral somewhere, i.e. those a
    /// clinician there can open without self-claiming a relationship.
    pub async fn sample_patients(
        &self,
        with_summary: bool,
        limit: i64,
    ) -> StoreResult<Vec<NhsNumber>> {
        let sql = if with_summary {
            format!(
                "SELECT s.nhs_number FROM summaries s WHERE EXISTS (SELECT 1 FROM care_relationships r \
                 WHERE r.nhs_number = s.nhs_number AND r.user_id = '') \
                 ORDER BY s.nhs_number LIMIT {limit}"
            )
        } else {
            format!("SELECT nhs_number FROM patients ORDER BY nhs_number LIMIT {limit}")
        };
        let rows = sqlx::query(&sql).fetch_all(self.read_pool()).await?;
        rows.iter()
            .map(|r| {
                let s: String = r.try_get("nhs_number")?;
                NhsNumber::parse(&s).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }

    /// Patients who have dissented (for tests, the demo's hints and benchmarks).
    pub async fn dissented_patients(&self, limit: i64) -> StoreResult<Vec<NhsNumber>> {
        let rows = sqlx::query(&format!(
            "SELECT nhs_number FROM consents WHERE preference = $1 ORDER BY nhs_number LIMIT {limit}"
        ))
        .bind(rows::preference_code(SharingPreference::Dissent))
        .fetch_all(self.read_pool())
        .await?;
        rows.iter()
            .map(|r| {
                let s: String = r.try_get("nhs_number")?;
                NhsNumber::parse(&s).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }
}

/// Stores each summary as its patient's current one, replacing any held: the one statement
/// for summaries, whether one upload or a bulk load.
pub(crate) async fn hold_summaries(
    conn: &mut AnyConnection,
    summaries: &[SummaryToHold<'_>],
) -> StoreResult<()> {
    const SUMMARY_COLS: usize = 4;
    let backend = Backend::of(conn);
    for chunk in summaries.chunks(rows_per_statement(SUMMARY_COLS)) {
        let mut sql = String::from(
            "INSERT INTO summaries (nhs_number, practice_ods, updated_at, summary) VALUES ",
        );
        values_clause(&mut sql, backend, chunk.len(), SUMMARY_COLS);
        sql.push_str(
            " ON CONFLICT (nhs_number) DO UPDATE SET practice_ods = excluded.practice_ods, \
             updated_at = excluded.updated_at, summary = excluded.summary",
        );
        let mut q = sqlx::query(&sql);
        for s in chunk {
            let json =
                serde_json::to_string(s.summary).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            q = q
                .bind(s.nhs_number.as_digits())
                .bind(s.practice_ods.map(str::to_string))
                .bind(s.updated_at)
                .bind(json);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Stores each sharing preference as its patient's current one, replacing any held.
pub(crate) async fn hold_consents(
    conn: &mut AnyConnection,
    consents: &[ConsentToHold<'_>],
) -> StoreResult<()> {
    const CONSENT_COLS: usize = 5;
    let backend = Backend::of(conn);
    for chunk in consents.chunks(rows_per_statement(CONSENT_COLS)) {
        let mut sql = String::from(
            "INSERT INTO consents (nhs_number, preference, code, recorded, recorded_by_ods) VALUES ",
        );
        values_clause(&mut sql, backend, chunk.len(), CONSENT_COLS);
        sql.push_str(
            " ON CONFLICT (nhs_number) DO UPDATE SET preference = excluded.preference, \
             code = excluded.code, recorded = excluded.recorded, \
             recorded_by_ods = excluded.recorded_by_ods",
        );
        let mut q = sqlx::query(&sql);
        for c in chunk {
            q = q
                .bind(c.nhs_number.as_digits())
                .bind(rows::preference_code(c.consent.preference))
                .bind(c.consent.code.clone())
                .bind(c.consent.recorded.format("%Y-%m-%d").to_string())
                .bind(c.recorded_by_ods.map(str::to_string));
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Withdraws the patient's summary (their preference is kept).
pub(crate) async fn withdraw_summary(conn: &mut AnyConnection, nhs: NhsNumber) -> StoreResult<()> {
    sqlx::query("DELETE FROM summaries WHERE nhs_number = $1")
        .bind(nhs.as_digits())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The practice the patient is registered at: `None` for an NHS number not in the index,
/// `Some(None)` for a patient with no registered practice.
pub(crate) async fn registered_practice(
    conn: &mut AnyConnection,
    nhs: NhsNumber,
) -> StoreResult<Option<Option<String>>> {
    let row = sqlx::query("SELECT gp_ods FROM patients WHERE nhs_number = $1")
        .bind(nhs.as_digits())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| r.try_get::<Option<String>, _>("gp_ods"))
        .transpose()
        .map_err(StoreError::from)
}

/// Records the patient's death in the demographics held for them (the record's JSON; no
/// indexed column depends on it), in the caller's transaction. An unknown patient is left
/// alone: the caller has checked the patient exists.
pub(crate) async fn record_death(
    conn: &mut AnyConnection,
    nhs: NhsNumber,
    deceased: Deceased,
) -> StoreResult<()> {
    let held: Option<String> = sqlx::query("SELECT record FROM patients WHERE nhs_number = $1")
        .bind(nhs.as_digits())
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get("record"))
        .transpose()?;
    let Some(held) = held else { return Ok(()) };
    let mut demographics = rows::demographics(&held)?;
    if demographics.deceased == Some(deceased) {
        return Ok(());
    }
    demographics.deceased = Some(deceased);
    let record =
        serde_json::to_string(&demographics).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query("UPDATE patients SET record = $1 WHERE nhs_number = $2")
        .bind(record)
        .bind(nhs.as_digits())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whether the preference held for the patient is a dissent.
/// The sharing preference held for the patient (`None`: none stated).
pub(crate) async fn held_preference(
    conn: &mut AnyConnection,
    nhs: NhsNumber,
) -> StoreResult<Option<SharingPreference>> {
    let held: Option<String> = sqlx::query("SELECT preference FROM consents WHERE nhs_number = $1")
        .bind(nhs.as_digits())
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get("preference"))
        .transpose()?;
    held.as_deref().map(rows::preference_from_code).transpose()
}

/// The summary held for the patient, if any.
pub(crate) async fn held_summary(
    conn: &mut AnyConnection,
    nhs: NhsNumber,
) -> StoreResult<Option<Summary>> {
    let held: Option<String> = sqlx::query("SELECT summary FROM summaries WHERE nhs_number = $1")
        .bind(nhs.as_digits())
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get("summary"))
        .transpose()?;
    held.map(|s| serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()
}
