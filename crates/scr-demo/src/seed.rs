//! A deterministic synthetic population: English names, birth dates, postcodes and practices,
//! with allergy, medication and problem prevalence shaped like a real GP list, and about
//! 2.5 % of patients opted out. Same `--seed`, same population, on every machine.
//!
//! Clinical codes are SNOMED CT and dm+d identifiers chosen for realism; the list is
//! synthetic data, not a terminology reference (see docs/DATA.md).

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use scr_model::{
    Address, Allergy, AllergyState, ChildProtectionPlan, ClinicalDate, Coding, ConsentRecord,
    Criticality, Deceased, Demographics, Flags, Gender, Medication, MedicationKind,
    MedicationStatus, NhsNumber, Problem, ProblemStatus, Provenance, ReasonableAdjustment,
    RelationshipBasis, Severity, SharingPreference, Summary, Verification,
};
use scr_model::{
    CareNote, Immunisation, ImmunisationStatus, PastCondition, PastProcedure, Section,
    SensitiveCategory,
};

use scr_spine::store::{CareRelationship, PatientRow};

use crate::identities::{
    HOSPITAL_ODS, LOCAL_AUTHORITY_NAME, LOCAL_AUTHORITY_ODS, OUT_OF_HOURS_ODS,
};

/// The day the population is "as of", fixed so a seed is reproducible.
pub fn reference_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 1).unwrap_or_default()
}

const SURNAMES: &[&str] = &[
    "Smith",
    "Jones",
    "Williams",
    "Taylor",
    "Brown",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Johnson",
    "Roberts",
    "Robinson",
    "Thompson",
    "Wright",
    "Walker",
    "White",
    "Edwards",
    "Hughes",
    "Green",
    "Hall",
    "Lewis",
    "Harris",
    "Clarke",
    "Patel",
    "Jackson",
    "Wood",
    "Turner",
    "Martin",
    "Cooper",
    "Hill",
    "Ward",
    "Morris",
    "Moore",
    "Clark",
    "Lee",
    "King",
    "Baker",
    "Harrison",
    "Morgan",
    "Allen",
    "James",
    "Scott",
    "Phillips",
    "Watson",
    "Davis",
    "Parker",
    "Price",
    "Bennett",
    "Young",
    "Griffiths",
    "Mitchell",
    "Kelly",
    "Cook",
    "Carter",
    "Richardson",
    "Bailey",
    "Collins",
    "Bell",
    "Shaw",
    "Murphy",
    "Miller",
    "Cox",
    "Richards",
    "Khan",
    "Marshall",
    "Anderson",
    "Simpson",
    "Ellis",
    "Adams",
    "Singh",
    "Begum",
    "Wilkinson",
    "Foster",
    "Chapman",
    "Powell",
    "Webb",
    "Rogers",
    "Gray",
    "Mason",
    "Ali",
    "Hunt",
    "Hussain",
    "Campbell",
    "Matthews",
    "Owen",
    "Palmer",
    "Holmes",
    "Mills",
    "Barnes",
    "Knight",
    "Lloyd",
    "Butler",
    "Russell",
    "Barker",
    "Fisher",
    "Stevens",
    "Jenkins",
    "Murray",
    "Dixon",
    "Harvey",
    "Graham",
    "Pearson",
    "Ahmed",
    "Fletcher",
    "Walsh",
    "Kaur",
    "Gibson",
    "Howard",
    "Andrews",
    "Stewart",
    "Elliott",
    "Reynolds",
    "Saunders",
    "Payne",
    "Fox",
    "Ford",
    "Pearce",
    "Day",
    "Brooks",
    "West",
    "Lawrence",
    "Cole",
    "Atkinson",
    "Bradley",
    "Spencer",
    "Gill",
    "Dawson",
    "Ball",
    "Burton",
    "O'Brien",
    "Watts",
    "Rose",
    "Booth",
    "Perry",
    "Ryan",
    "Grant",
    "Wells",
    "Armstrong",
    "Francis",
    "Rees",
    "Hayes",
    "Hart",
    "Hudson",
    "Newman",
    "Barrett",
    "Webster",
    "Hunter",
    "Gregory",
    "Carr",
    "Lowe",
    "Page",
    "Marsh",
    "Riley",
    "Dunn",
    "Woods",
    "Parsons",
    "Berry",
    "Stone",
    "Reid",
    "Holland",
    "Hawkins",
    "Harding",
    "Porter",
    "Robertson",
    "Newton",
    "Oliver",
    "Reed",
    "Kennedy",
    "Williamson",
    "Bird",
    "Gardner",
    "Shah",
    "Dean",
    "Lane",
    "Cooke",
    "Bates",
    "Henderson",
    "Parry",
    "Burgess",
    "Bishop",
    "Walton",
    "Burns",
    "Nicholson",
    "Okafor",
    "Nowak",
    "Kowalski",
    "Mensah",
    "Osei",
    "Nguyen",
    "Chen",
    "Wong",
    "Rahman",
    "Islam",
];

const MALE: &[&str] = &[
    "Oliver",
    "George",
    "Harry",
    "Jack",
    "Jacob",
    "Noah",
    "Charlie",
    "Muhammad",
    "Thomas",
    "Oscar",
    "William",
    "James",
    "Henry",
    "Leo",
    "Alfie",
    "Joshua",
    "Freddie",
    "Archie",
    "Ethan",
    "Isaac",
    "Alexander",
    "Joseph",
    "Edward",
    "Samuel",
    "Max",
    "Daniel",
    "Arthur",
    "Lucas",
    "Mohammed",
    "Logan",
    "David",
    "John",
    "Michael",
    "Paul",
    "Peter",
    "Richard",
    "Robert",
    "Stephen",
    "Mark",
    "Andrew",
    "Christopher",
    "Anthony",
    "Kevin",
    "Gary",
    "Ian",
    "Keith",
    "Brian",
    "Colin",
    "Derek",
    "Graham",
    "Kenneth",
    "Ronald",
    "Raymond",
    "Alan",
    "Arjun",
    "Ravi",
    "Tomasz",
    "Kwame",
    "Chinedu",
    "Hamza",
];

const FEMALE: &[&str] = &[
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Emily",
    "Isabella",
    "Mia",
    "Poppy",
    "Ella",
    "Lily",
    "Jessica",
    "Sophie",
    "Grace",
    "Evie",
    "Chloe",
    "Ruby",
    "Freya",
    "Florence",
    "Charlotte",
    "Sophia",
    "Hannah",
    "Sarah",
    "Emma",
    "Laura",
    "Rebecca",
    "Rachel",
    "Claire",
    "Helen",
    "Susan",
    "Margaret",
    "Patricia",
    "Elizabeth",
    "Mary",
    "Jean",
    "Janet",
    "Linda",
    "Karen",
    "Julie",
    "Angela",
    "Deborah",
    "Joan",
    "Dorothy",
    "Barbara",
    "Irene",
    "Sheila",
    "Pauline",
    "Priya",
    "Aisha",
    "Fatima",
    "Zainab",
    "Agnieszka",
    "Ama",
    "Ngozi",
    "Mei",
    "Anita",
    "Nadia",
    "Bethany",
    "Lauren",
    "Megan",
    "Katie",
];

/// Towns with their postcode areas and street names.
const TOWNS: &[(&str, &str)] = &[
    ("Leeds", "LS"),
    ("Sheffield", "S"),
    ("Manchester", "M"),
    ("Birmingham", "B"),
    ("Bristol", "BS"),
    ("Nottingham", "NG"),
    ("Leicester", "LE"),
    ("Newcastle upon Tyne", "NE"),
    ("Liverpool", "L"),
    ("York", "YO"),
    ("Norwich", "NR"),
    ("Exeter", "EX"),
    ("Plymouth", "PL"),
    ("Southampton", "SO"),
    ("Brighton", "BN"),
    ("Oxford", "OX"),
    ("Cambridge", "CB"),
    ("Reading", "RG"),
    ("Derby", "DE"),
    ("Coventry", "CV"),
    ("Hull", "HU"),
    ("Bradford", "BD"),
    ("Wakefield", "WF"),
    ("Stoke-on-Trent", "ST"),
    ("Preston", "PR"),
    ("Carlisle", "CA"),
    ("Lincoln", "LN"),
    ("Ipswich", "IP"),
    ("Gloucester", "GL"),
    ("Worcester", "WR"),
    ("Canterbury", "CT"),
    ("Truro", "TR"),
    ("Durham", "DH"),
    ("Lancaster", "LA"),
    ("Peterborough", "PE"),
    ("Bath", "BA"),
    ("Chester", "CH"),
    ("Luton", "LU"),
];

const STREETS: &[&str] = &[
    "High",
    "Church",
    "Station",
    "Victoria",
    "Park",
    "Green",
    "Manor",
    "Mill",
    "School",
    "Queens",
    "Kings",
    "New",
    "Grange",
    "North",
    "South",
    "Chapel",
    "Alexandra",
    "York",
    "Albert",
    "Springfield",
    "Windsor",
    "Highfield",
    "Orchard",
    "Meadow",
    "Oak",
    "Willow",
];
const STREET_KINDS: &[&str] = &[
    "Street", "Road", "Lane", "Avenue", "Close", "Way", "Drive", "Crescent",
];
const POSTCODE_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";

struct Concept(&'static str, &'static str);

/// (substance, weight)
const ALLERGENS: &[(Concept, u32)] = &[
    (Concept("764146007", "Penicillin"), 40),
    (Concept("372687004", "Amoxicillin"), 8),
    (Concept("387458008", "Aspirin"), 5),
    (Concept("387207008", "Ibuprofen"), 7),
    (Concept("387406002", "Sulfamethoxazole"), 4),
    (Concept("373529000", "Morphine"), 3),
    (Concept("387494007", "Codeine"), 5),
    (Concept("111088007", "Latex"), 3),
    (Concept("762952008", "Peanut"), 6),
    (Concept("227493005", "Cashew nut"), 2),
    (Concept("102263004", "Eggs (edible)"), 2),
    (Concept("3718001", "Cow's milk"), 2),
    (Concept("256277009", "Grass pollen"), 3),
    (Concept("288328004", "Bee venom"), 2),
    (Concept("372709008", "Trimethoprim"), 4),
    (Concept("387170002", "Erythromycin"), 3),
];

const REACTIONS: &[(&str, Severity)] = &[
    ("Anaphylaxis", Severity::Severe),
    ("Angioedema", Severity::Severe),
    ("Urticaria", Severity::Moderate),
    ("Skin rash", Severity::Mild),
    ("Itching", Severity::Mild),
    ("Nausea", Severity::Mild),
    ("Vomiting", Severity::Moderate),
    ("Wheezing", Severity::Moderate),
    ("Swelling of lips", Severity::Moderate),
];

/// (problem, the age from which it becomes common, prevalence per 1000 at that age or older,
/// medicines that usually go with it)
const PROBLEMS: &[(Concept, u32, u32, &[usize])] = &[
    (
        Concept("38341003", "Hypertensive disorder"),
        40,
        300,
        &[0, 1],
    ),
    (
        Concept("44054006", "Type 2 diabetes mellitus"),
        40,
        90,
        &[2],
    ),
    (Concept("195967001", "Asthma"), 5, 80, &[3, 4]),
    (
        Concept("13645005", "Chronic obstructive lung disease"),
        50,
        40,
        &[3],
    ),
    (Concept("49436004", "Atrial fibrillation"), 60, 60, &[5]),
    (Concept("40930008", "Hypothyroidism"), 30, 40, &[6]),
    (Concept("35489007", "Depressive disorder"), 16, 90, &[7]),
    (
        Concept("235595009", "Gastro-oesophageal reflux disease"),
        30,
        60,
        &[8],
    ),
    (
        Concept("22298006", "Myocardial infarction"),
        55,
        40,
        &[9, 10],
    ),
    (
        Concept("230690007", "Cerebrovascular accident"),
        60,
        25,
        &[9, 10],
    ),
    (Concept("709044004", "Chronic kidney disease"), 60, 50, &[]),
    (Concept("84757009", "Epilepsy"), 5, 8, &[11]),
    (Concept("396275006", "Osteoarthritis"), 50, 120, &[12]),
    (Concept("84114007", "Heart failure"), 65, 30, &[13]),
];

/// (dm+d medicine, dosage, quantity)
const MEDICINES: &[(Concept, &str, &str)] = &[
    (
        Concept("319283006", "Amlodipine 5mg tablets"),
        "One tablet once a day",
        "28 tablet",
    ),
    (
        Concept("318900000", "Ramipril 5mg capsules"),
        "One capsule once a day",
        "28 capsule",
    ),
    (
        Concept("325278008", "Metformin 500mg tablets"),
        "One tablet twice a day with food",
        "56 tablet",
    ),
    (
        Concept(
            "320151009",
            "Salbutamol 100micrograms/dose inhaler CFC free",
        ),
        "Two puffs when required",
        "1 inhaler",
    ),
    (
        Concept(
            "320156004",
            "Beclometasone 100micrograms/dose inhaler CFC free",
        ),
        "Two puffs twice a day",
        "1 inhaler",
    ),
    (
        Concept("703907000", "Apixaban 5mg tablets"),
        "One tablet twice a day",
        "56 tablet",
    ),
    (
        Concept("376809005", "Levothyroxine sodium 50microgram tablets"),
        "One tablet each morning",
        "28 tablet",
    ),
    (
        Concept("321980002", "Sertraline 50mg tablets"),
        "One tablet once a day",
        "28 tablet",
    ),
    (
        Concept("317320004", "Omeprazole 20mg gastro-resistant capsules"),
        "One capsule once a day",
        "28 capsule",
    ),
    (
        Concept("320000009", "Atorvastatin 20mg tablets"),
        "One tablet at night",
        "28 tablet",
    ),
    (
        Concept("319770009", "Clopidogrel 75mg tablets"),
        "One tablet once a day",
        "28 tablet",
    ),
    (
        Concept("323002004", "Lamotrigine 100mg tablets"),
        "One tablet twice a day",
        "56 tablet",
    ),
    (
        Concept("322236009", "Paracetamol 500mg tablets"),
        "Two tablets up to four times a day",
        "100 tablet",
    ),
    (
        Concept("317971007", "Bisoprolol 2.5mg tablets"),
        "One tablet once a day",
        "28 tablet",
    ),
];

const ACUTE: &[(Concept, &str, &str)] = &[
    (
        Concept("323509004", "Amoxicillin 500mg capsules"),
        "One capsule three times a day for 5 days",
        "15 capsule",
    ),
    (
        Concept("324095003", "Clarithromycin 500mg tablets"),
        "One tablet twice a day for 5 days",
        "10 tablet",
    ),
    (
        Concept("317919004", "Naproxen 250mg tablets"),
        "One tablet twice a day with food",
        "28 tablet",
    ),
    (
        Concept(
            "324357002",
            "Nitrofurantoin 100mg modified-release capsules",
        ),
        "One capsule twice a day for 3 days",
        "6 capsule",
    ),
    (
        Concept("374646004", "Prednisolone 5mg tablets"),
        "Six tablets once a day for 5 days",
        "30 tablet",
    ),
    (
        Concept("329652003", "Hydrocortisone 1% cream"),
        "Apply thinly twice a day",
        "15 gram",
    ),
];

const GP_SURNAMES: &[&str] = &[
    "Ahmed",
    "Brennan",
    "Chowdhury",
    "Douglas",
    "Evans",
    "Fitzgerald",
    "Gupta",
    "Hughes",
    "Iqbal",
    "Johnson",
];

#[derive(Clone)]
pub struct Practice {
    pub ods: String,
    pub name: String,
    town: usize,
}

/// Practices: about one per 1 500 patients (a typical list size is 7 000–10 000, but a small
/// seed still wants several). The first is always `A81001 The Surgery`.
pub fn practices(patients: u32, rng: &mut ChaCha8Rng) -> Vec<Practice> {
    let count = (patients / 1_500).clamp(5, 7_000) as usize;
    (0..count)
        .map(|i| {
            let town = i % TOWNS.len();
            let letter = (b'A' + (i / 90_000 % 26) as u8) as char;
            let ods = format!("{letter}{:05}", 81_001 + i % 90_000);
            let name = if i == 0 {
                "The Surgery".to_string()
            } else {
                match rng.gen_range(0..3) {
                    0 => format!("{} Medical Centre", TOWNS[town].0),
                    1 => format!(
                        "The {} Road Surgery",
                        STREETS.choose(rng).copied().unwrap_or("High")
                    ),
                    _ => format!(
                        "{} Health Centre",
                        STREETS.choose(rng).copied().unwrap_or("Park")
                    ),
                }
            };
            Practice { ods, name, town }
        })
        .collect()
}

fn pick_weighted<'a, T>(items: &'a [(T, u32)], rng: &mut ChaCha8Rng) -> &'a T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut n = rng.gen_range(0..total.max(1));
    for (item, w) in items {
        if n < *w {
            return item;
        }
        n -= w;
    }
    &items[0].0
}

fn coding(system: &str, c: &Concept) -> Coding {
    Coding {
        system: Some(system.to_string()),
        code: Some(c.0.to_string()),
        display: c.1.to_string(),
    }
}

fn day_before(today: NaiveDate, max_days: i64, rng: &mut ChaCha8Rng) -> NaiveDate {
    today - Duration::days(rng.gen_range(0..max_days.max(1)))
}

/// Ages shaped like the English population: fewer of the very old.
fn birth_date(today: NaiveDate, rng: &mut ChaCha8Rng) -> NaiveDate {
    let age_days = loop {
        let years: f64 = rng.gen_range(0.0..100.0);
        let keep = if years < 60.0 {
            1.0
        } else {
            1.0 - (years - 60.0) / 45.0
        };
        if rng.gen_bool(keep.clamp(0.02, 1.0)) {
            break (years * 365.25) as i64;
        }
    };
    today - Duration::days(age_days)
}

fn postcode(area: &str, rng: &mut ChaCha8Rng) -> String {
    let l =
        |rng: &mut ChaCha8Rng| POSTCODE_LETTERS[rng.gen_range(0..POSTCODE_LETTERS.len())] as char;
    format!(
        "{area}{} {}{}{}",
        rng.gen_range(1..=28),
        rng.gen_range(0..10),
        l(rng),
        l(rng)
    )
}

/// Patient number `index` of the population seeded with `seed`: the same inputs always give
/// the same patient.
pub fn patient(index: u32, seed: u64, practices: &[Practice]) -> Option<PatientRow> {
    let mut rng =
        ChaCha8Rng::seed_from_u64(seed ^ (u64::from(index).wrapping_mul(0x9E37_79B9_7F4A_7C15)));
    let today = reference_date();
    let nhs_number = NhsNumber::nth_test_number(index)?;
    let gender = if rng.gen_bool(0.5) {
        Gender::Female
    } else {
        Gender::Male
    };
    let given_pool = if gender == Gender::Female {
        FEMALE
    } else {
        MALE
    };
    let mut given = vec![given_pool.choose(&mut rng)?.to_string()];
    if rng.gen_bool(0.3) {
        given.push(given_pool.choose(&mut rng)?.to_string());
    }
    let family = SURNAMES.choose(&mut rng)?.to_string();
    let born = birth_date(today, &mut rng);
    let age = today.years_since(born).unwrap_or(0);
    let practice = &practices[rng.gen_range(0..practices.len())];
    let (town, area) = TOWNS[practice.town];
    let title = match (gender, age) {
        (_, 0..=17) => None,
        (Gender::Male, _) => Some("Mr"),
        (_, _) => Some(*["Mrs", "Ms", "Miss"].choose(&mut rng)?),
    }
    .map(str::to_string);
    let address = Address {
        lines: vec![
            format!(
                "{} {} {}",
                rng.gen_range(1..200),
                STREETS.choose(&mut rng)?,
                STREET_KINDS.choose(&mut rng)?
            ),
            town.to_string(),
        ],
        postcode: Some(postcode(area, &mut rng)),
    };
    let mut demographics = Demographics {
        nhs_number,
        title,
        given,
        family,
        gender,
        birth_date: born,
        address,
        gp_ods: Some(practice.ods.clone()),
        restricted: rng.gen_bool(0.001),
        deceased: None,
    };

    let consent_roll: f64 = rng.gen();
    let consent = if consent_roll < 0.025 {
        Some(ConsentRecord {
            preference: SharingPreference::Dissent,
            code: if rng.gen_bool(0.6) { "9Ndo" } else { "93C3" }.to_string(),
            recorded: day_before(today, 365 * 12, &mut rng),
            recorded_by_ods: Some(practice.ods.clone()),
        })
    } else if consent_roll < 0.10 {
        let (preference, code) = if rng.gen_bool(0.5) {
            (SharingPreference::ExpressConsentCoreAndAdditional, "9Ndn")
        } else {
            (SharingPreference::ExpressConsentCore, "9Ndm")
        };
        Some(ConsentRecord {
            preference,
            code: code.to_string(),
            recorded: day_before(today, 365 * 8, &mut rng),
            recorded_by_ods: Some(practice.ods.clone()),
        })
    } else {
        None
    };

    // Dissenters have no central summary; a few newly registered patients have none yet.
    let dissented = consent.as_ref().is_some_and(|c| c.preference.is_dissent());
    let summary = if dissented || rng.gen_bool(0.005) {
        None
    } else {
        Some(summary(age, practice, today, &mut rng))
    };
    // Flags and deaths come from a stream of their own, so adding them left every other
    // seeded detail (and the tests and benchmarks that rely on it) as it was.
    let preference = consent.as_ref().map(|c| c.preference);
    let summary = summary.map(|mut s| {
        let (deceased, flags) = flags(index, seed, born, age, today);
        demographics.deceased = deceased;
        s.flags = flags;
        // Additional Information likewise; then held only as the patient's preference
        // allows, exactly as an upload would be.
        additional(&mut s, index, seed, born, age, today);
        s.held_under(preference)
    });
    Some(PatientRow {
        demographics,
        summary,
        consent,
    })
}

fn summary(age: u32, practice: &Practice, today: NaiveDate, rng: &mut ChaCha8Rng) -> Summary {
    let allergy_roll: f64 = rng.gen();
    let allergies = if allergy_roll < 0.25 {
        let n = if rng.gen_bool(0.75) {
            1
        } else {
            rng.gen_range(2..=3)
        };
        let mut list: Vec<Allergy> = Vec::with_capacity(n);
        for _ in 0..n {
            let substance = pick_weighted(ALLERGENS, rng);
            if list
                .iter()
                .any(|a| a.substance.code.as_deref() == Some(substance.0))
            {
                continue;
            }
            let (reaction, severity) = REACTIONS[rng.gen_range(0..REACTIONS.len())];
            list.push(Allergy {
                substance: coding(scr_model::systems::SNOMED, substance),
                reaction: Some(reaction.to_string()),
                // Real records often lack a severity; keep that awkward case in the data.
                severity: rng.gen_bool(0.8).then_some(severity),
                criticality: Some(if severity == Severity::Severe {
                    Criticality::High
                } else {
                    Criticality::Low
                }),
                verification: if rng.gen_bool(0.1) {
                    Verification::Unconfirmed
                } else {
                    Verification::Confirmed
                },
                recorded: Some(ClinicalDate::Day(day_before(
                    today,
                    365 * i64::from(age.max(1)),
                    rng,
                ))),
            });
        }
        AllergyState::Known { allergies: list }
    } else if allergy_roll < 0.70 {
        AllergyState::NoKnownAllergies {
            recorded: Some(ClinicalDate::Day(day_before(today, 365 * 10, rng))),
        }
    } else {
        AllergyState::NotRecorded
    };

    let mut problems = Vec::new();
    let mut medicine_indices: Vec<usize> = Vec::new();
    for (concept, from_age, per_mille, meds) in PROBLEMS {
        if age >= *from_age && rng.gen_range(0..1000) < *per_mille {
            let onset = day_before(today, 365 * i64::from((age - from_age).max(1)), rng);
            problems.push(Problem {
                condition: coding(scr_model::systems::SNOMED, concept),
                status: ProblemStatus::Active,
                onset: Some(ClinicalDate::Day(onset)),
                recorded: Some(ClinicalDate::Day(onset)),
            });
            for m in *meds {
                if !medicine_indices.contains(m) {
                    medicine_indices.push(*m);
                }
            }
        }
    }
    if age >= 40 && rng.gen_bool(0.15) && !medicine_indices.contains(&9) {
        medicine_indices.push(9);
    }
    let mut medications: Vec<Medication> = medicine_indices
        .iter()
        .filter_map(|i| MEDICINES.get(*i))
        .map(|(concept, dose, qty)| Medication {
            medicine: coding(scr_model::systems::DMD, concept),
            kind: MedicationKind::Repeat,
            status: MedicationStatus::Active,
            dosage: Some(dose.to_string()),
            quantity: Some(qty.to_string()),
            started: Some(ClinicalDate::Day(day_before(today, 365 * 5, rng))),
            last_issued: Some(ClinicalDate::Day(day_before(today, 56, rng))),
            discontinued: None,
            reason: None,
        })
        .collect();
    // Acute medication of the last 12 months.
    for _ in 0..rng.gen_range(0..=2) {
        let (concept, dose, qty) = &ACUTE[rng.gen_range(0..ACUTE.len())];
        let issued = day_before(today, 365, rng);
        medications.push(Medication {
            medicine: coding(scr_model::systems::DMD, concept),
            kind: MedicationKind::Acute,
            status: MedicationStatus::Completed,
            dosage: Some(dose.to_string()),
            quantity: Some(qty.to_string()),
            started: Some(ClinicalDate::Day(issued)),
            last_issued: Some(ClinicalDate::Day(issued)),
            discontinued: None,
            reason: None,
        });
    }
    // Repeats discontinued in the last 6 months.
    if age >= 30 && rng.gen_bool(0.08) {
        let (concept, dose, qty) = &MEDICINES[rng.gen_range(0..MEDICINES.len())];
        let stopped = day_before(today, 180, rng);
        medications.push(Medication {
            medicine: coding(scr_model::systems::DMD, concept),
            kind: MedicationKind::Repeat,
            status: MedicationStatus::Discontinued,
            dosage: Some(dose.to_string()),
            quantity: Some(qty.to_string()),
            started: Some(ClinicalDate::Day(
                stopped - Duration::days(rng.gen_range(30..900)),
            )),
            last_issued: Some(ClinicalDate::Day(
                stopped - Duration::days(rng.gen_range(0..28)),
            )),
            discontinued: Some(ClinicalDate::Day(stopped)),
            reason: None,
        });
    }
    let updated = day_before(today, 700, rng);
    let at: DateTime<Utc> = Utc
        .with_ymd_and_hms(
            updated.year(),
            updated.month(),
            updated.day(),
            rng.gen_range(8..18),
            rng.gen_range(0..60),
            0,
        )
        .single()
        .unwrap_or_else(Utc::now);
    Summary {
        allergies,
        medications,
        problems,
        provenance: Provenance {
            practice_ods: Some(practice.ods.clone()),
            practice_name: Some(practice.name.clone()),
            author: Some(format!(
                "Dr {}",
                GP_SURNAMES[rng.gen_range(0..GP_SURNAMES.len())]
            )),
            last_updated: Some(at),
        },
        narratives: Default::default(),
        flags: Default::default(),
        additional: Default::default(),
    }
}

/// Reasonable adjustments, as a practice records them in words.
const ADJUSTMENTS: &[&str] = &[
    "Needs a British Sign Language interpreter",
    "Needs information in easy read format",
    "Needs a longer appointment",
    "Uses a wheelchair: needs step-free access and a height-adjustable couch",
    "Needs a carer or supporter present",
    "Needs information in large print (18 point)",
    "Needs a quiet place to wait",
    "Has a learning disability: explain one step at a time",
    "Is autistic: avoid bright lights and noise where possible",
    "Needs a hearing loop",
];

/// The flags of a patient with a summary, and whether they have died: 3 % a reasonable
/// adjustment flag (1–2 adjustments), 2 % of children a child protection plan with the
/// demo's local authority responsible, 1 % died in the two years before the reference
/// date. Drawn from their own stream for `index` and `seed`.
fn flags(
    index: u32,
    seed: u64,
    born: NaiveDate,
    age: u32,
    today: NaiveDate,
) -> (Option<Deceased>, Flags) {
    let mut rng = ChaCha8Rng::seed_from_u64(
        seed ^ (u64::from(index).wrapping_mul(0xD1B5_4A32_D192_ED03)) ^ 0x00F1_A65F_1A65,
    );
    let mut flags = Flags::default();
    if rng.gen_bool(0.03) {
        let mut adjustments = vec![ADJUSTMENTS[rng.gen_range(0..ADJUSTMENTS.len())].to_string()];
        if rng.gen_bool(0.4) {
            let more = ADJUSTMENTS[rng.gen_range(0..ADJUSTMENTS.len())].to_string();
            if !adjustments.contains(&more) {
                adjustments.push(more);
            }
        }
        flags.reasonable_adjustment = Some(ReasonableAdjustment {
            adjustments,
            recorded: Some(ClinicalDate::Day(day_before(today, 365 * 5, &mut rng))),
        });
    }
    if age < 18 && rng.gen_bool(0.02) {
        flags.child_protection = Some(ChildProtectionPlan {
            responsible_ods: Some(LOCAL_AUTHORITY_ODS.to_string()),
            responsible_name: Some(LOCAL_AUTHORITY_NAME.to_string()),
            start: Some(ClinicalDate::Day(
                day_before(today, 730, &mut rng).max(born),
            )),
            end: None,
        });
    }
    let deceased = rng.gen_bool(0.01).then(|| Deceased {
        date: Some(ClinicalDate::Day(
            day_before(today, 730, &mut rng).max(born),
        )),
    });
    (deceased, flags)
}

/// (condition, SNOMED CT where the concept is well known, or text only)
const PAST_ILLNESSES: &[(&str, Option<&str>)] = &[
    ("Appendicitis", Some("74400008")),
    ("Pneumonia", Some("233604007")),
    ("Myocardial infarction", Some("22298006")),
    ("Deep vein thrombosis", Some("128053003")),
    ("Cerebrovascular accident", Some("230690007")),
    ("Fractured neck of femur", None),
    ("Postnatal depression", None),
    ("Meningitis in childhood", None),
];

const PROCEDURES: &[(&str, Option<&str>)] = &[
    ("Appendicectomy", Some("80146002")),
    ("Cholecystectomy", Some("38102005")),
    ("Total hip replacement", Some("52734007")),
    ("Tonsillectomy", Some("173422009")),
    ("Caesarean section", Some("11466000")),
    ("Coronary artery bypass graft", None),
    ("Cataract extraction, left eye", None),
];

const VACCINES: &[&str] = &[
    "Seasonal influenza vaccine",
    "COVID-19 vaccine",
    "Pneumococcal polysaccharide vaccine",
    "Shingles (herpes zoster) vaccine",
    "Tetanus, diphtheria and polio booster",
];

const ANTICIPATORY: &[(&str, &str)] = &[
    (
        "Anticipatory care plan",
        "Known COPD: rescue pack at home (amoxicillin and prednisolone); start if sputum changes colour",
    ),
    (
        "Falls plan",
        "Lives alone with a pendant alarm; daughter holds a key (number with the practice)",
    ),
    (
        "Carer",
        "Main carer for her husband, who has dementia; arrange cover if she is admitted",
    ),
];

const END_OF_LIFE: &[(&str, &str)] = &[
    ("Preferred place of death", "Home, with family present"),
    (
        "Do not attempt cardiopulmonary resuscitation",
        "DNACPR decision recorded with the patient; form held at home",
    ),
    (
        "Lasting power of attorney for health and welfare",
        "Held by the patient's son",
    ),
];

const COMMUNICATION: &[(&str, &str)] = &[
    (
        "Needs an interpreter",
        "Polish; prefers a female interpreter",
    ),
    (
        "Hearing impaired",
        "Lip-reads; face the patient and speak clearly",
    ),
    ("Prefers written information", "Large print, 16 point"),
];

fn concept(display: &str, code: Option<&str>) -> Coding {
    Coding {
        system: code.map(|_| scr_model::systems::SNOMED.to_string()),
        code: code.map(str::to_string),
        display: display.to_string(),
    }
}

fn note(rng: &mut ChaCha8Rng, items: &[(&str, &str)], today: NaiveDate) -> CareNote {
    let (title, detail) = items[rng.gen_range(0..items.len())];
    CareNote {
        title: title.to_string(),
        detail: Some(detail.to_string()),
        recorded: Some(ClinicalDate::Day(day_before(today, 900, rng))),
    }
}

/// Additional Information for two in five patients with a summary, from a stream of its own
/// (adding it left every other seeded detail as it was): significant history and procedures,
/// immunisations (most of the over-65s), anticipatory care for a fifth of the over-75s,
/// end-of-life preferences for a tenth of the over-80s, communication needs for 1 in 20, a
/// reason on each repeat medicine, and for 1 in 25 an entry in a sensitive category (with the
/// patient's request to include it for half of those). A section carried with nothing in it
/// says "nothing recorded", which the viewer must show apart from "not shared".
fn additional(s: &mut Summary, index: u32, seed: u64, born: NaiveDate, age: u32, today: NaiveDate) {
    let mut rng = ChaCha8Rng::seed_from_u64(
        seed ^ (u64::from(index).wrapping_mul(0xA076_1D64_78BD_642F)) ^ 0x00AD_D171_0A11,
    );
    if !rng.gen_bool(0.4) {
        return;
    }
    let since_birth = |rng: &mut ChaCha8Rng| {
        ClinicalDate::Day(day_before(today, 365 * i64::from(age.max(1)), rng).max(born))
    };
    let mut history = Vec::new();
    for _ in 0..rng.gen_range(0..=2) {
        let (display, code) = PAST_ILLNESSES[rng.gen_range(0..PAST_ILLNESSES.len())];
        if history
            .iter()
            .any(|h: &PastCondition| h.condition.display == display)
        {
            continue;
        }
        let onset = since_birth(&mut rng);
        history.push(PastCondition {
            condition: concept(display, code),
            onset: Some(onset),
            ended: None,
            sensitive: None,
        });
    }
    let mut procedures = Vec::new();
    for _ in 0..rng.gen_range(0..=2) {
        let (display, code) = PROCEDURES[rng.gen_range(0..PROCEDURES.len())];
        if procedures
            .iter()
            .any(|p: &PastProcedure| p.procedure.display == display)
        {
            continue;
        }
        procedures.push(PastProcedure {
            procedure: concept(display, code),
            performed: Some(since_birth(&mut rng)),
            sensitive: None,
        });
    }
    if rng.gen_bool(0.04) {
        if rng.gen_bool(0.5) {
            history.push(PastCondition {
                condition: concept("Chlamydial infection", Some("105629000")),
                onset: Some(since_birth(&mut rng)),
                ended: None,
                sensitive: Some(SensitiveCategory::SexuallyTransmittedInfection),
            });
        } else {
            procedures.push(PastProcedure {
                procedure: concept("In vitro fertilisation", Some("52637005")),
                performed: Some(since_birth(&mut rng)),
                sensitive: Some(SensitiveCategory::FertilityTreatment),
            });
        }
        s.additional.sensitive_included = rng.gen_bool(0.5);
    }
    let mut immunisations = Vec::new();
    if age >= 65 && rng.gen_bool(0.8) {
        for (i, vaccine) in VACCINES.iter().enumerate() {
            if i < 2 || rng.gen_bool(0.4) {
                immunisations.push(Immunisation {
                    vaccine: concept(vaccine, None),
                    status: if rng.gen_bool(0.05) {
                        ImmunisationStatus::NotGiven
                    } else {
                        ImmunisationStatus::Given
                    },
                    date: Some(ClinicalDate::Day(day_before(today, 400, &mut rng))),
                });
            }
        }
    }
    s.additional.history = Section::recorded(history);
    s.additional.procedures = Section::recorded(procedures);
    s.additional.immunisations = Section::recorded(immunisations);
    let notes = |rng: &mut ChaCha8Rng, p: f64, items: &[(&str, &str)]| {
        Section::recorded(if rng.gen_bool(p) {
            vec![note(rng, items, today)]
        } else {
            Vec::new()
        })
    };
    s.additional.anticipatory_care =
        notes(&mut rng, if age >= 75 { 0.2 } else { 0.0 }, ANTICIPATORY);
    s.additional.end_of_life = notes(&mut rng, if age >= 80 { 0.1 } else { 0.0 }, END_OF_LIFE);
    s.additional.communication = notes(&mut rng, 0.05, COMMUNICATION);
    for m in s
        .medications
        .iter_mut()
        .filter(|m| m.kind == MedicationKind::Repeat)
    {
        m.reason = reason_for(&m.medicine.display, &s.problems);
    }
}

/// The problem a repeat medicine is for, in the seed's own pairing of medicines to problems.
fn reason_for(medicine: &str, problems: &[Problem]) -> Option<String> {
    PROBLEMS.iter().find_map(|(concept, _, _, meds)| {
        let prescribed = meds
            .iter()
            .filter_map(|i| MEDICINES.get(*i))
            .any(|(m, _, _)| m.1 == medicine);
        (prescribed && problems.iter().any(|p| p.condition.display == concept.1))
            .then(|| concept.1.to_string())
    })
}

/// Whether seeded patient `i` has open encounters and referrals with the demo's hospital and
/// out-of-hours service: nine in ten do (they are attending, or were referred); the tenth
/// (`i % 10 == 9`) has none, so a clinician there must self-claim a relationship.
pub fn has_care_relationship(i: u32) -> bool {
    i % 10 != 9
}

/// The relationships seeded for patient `i`: an open emergency-department encounter at the
/// demo hospital and an open referral to the out-of-hours service.
fn care_relationships(i: u32, nhs: NhsNumber, opened_at_ms: i64) -> Vec<CareRelationship> {
    if !has_care_relationship(i) {
        return Vec::new();
    }
    [
        (HOSPITAL_ODS, RelationshipBasis::Encounter),
        (OUT_OF_HOURS_ODS, RelationshipBasis::Referral),
    ]
    .into_iter()
    .map(|(org, basis)| CareRelationship {
        nhs_number: nhs,
        org_ods: org.to_string(),
        basis,
        opened_at_ms,
        ends_at_ms: None,
    })
    .collect()
}

/// Seeds `count` patients into the store, generating the next batch on a blocking thread
/// while the previous one is written. Returns the practices.
pub async fn seed_population(
    store: &scr_spine::store::Store,
    count: u32,
    seed: u64,
    mut progress: impl FnMut(u32),
) -> anyhow::Result<Vec<Practice>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let practices = practices(count, &mut rng);
    const BATCH: u32 = 10_000;
    type Batch = (Vec<PatientRow>, Vec<CareRelationship>);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(2);
    let gen_practices = practices.clone();
    let opened_at_ms = Utc::now().timestamp_millis() - 3_600_000;
    let generator = tokio::task::spawn_blocking(move || {
        let mut start = 0u32;
        while start < count {
            let end = (start + BATCH).min(count);
            let mut relationships = Vec::new();
            let batch: Vec<PatientRow> = (start..end)
                .filter_map(|i| {
                    let row = patient(i, seed, &gen_practices)?;
                    relationships.extend(care_relationships(
                        i,
                        row.demographics.nhs_number,
                        opened_at_ms,
                    ));
                    Some(row)
                })
                .collect();
            if tx.blocking_send((batch, relationships)).is_err() {
                return;
            }
            start = end;
        }
    });
    let mut done = 0u32;
    while let Some((batch, relationships)) = rx.recv().await {
        store.insert_patients_bulk(&batch).await?;
        store.insert_relationships(&relationships).await?;
        done += batch.len() as u32;
        progress(done);
    }
    generator.await?;
    Ok(practices)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_deaths_are_seeded_at_their_rates_and_the_same_every_time() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let practices = practices(5_000, &mut rng);
        let today = reference_date();
        let (mut raf, mut plans, mut children, mut died, mut with_summary) = (0, 0, 0, 0, 0);
        for i in 0..5_000 {
            let Some(row) = patient(i, 7, &practices) else {
                continue;
            };
            let again = patient(i, 7, &practices).expect("the same patient");
            assert_eq!(
                (&again.demographics, &again.summary),
                (&row.demographics, &row.summary),
                "patient {i}"
            );
            let d = &row.demographics;
            let age = today.years_since(d.birth_date).unwrap_or(0);
            if age < 18 {
                children += 1;
            }
            let Some(s) = &row.summary else {
                assert_eq!(d.deceased, None, "a death is seeded only with a summary");
                continue;
            };
            with_summary += 1;
            if let Some(r) = &s.flags.reasonable_adjustment {
                raf += 1;
                assert!(!r.adjustments.is_empty());
            }
            if let Some(p) = &s.flags.child_protection {
                plans += 1;
                assert!(age < 18, "a plan on an adult's record");
                assert_eq!(p.responsible_ods.as_deref(), Some(LOCAL_AUTHORITY_ODS));
            }
            if let Some(dead) = d.deceased {
                died += 1;
                let on = dead.date.and_then(|x| x.day()).expect("a date");
                assert!(on >= d.birth_date && on <= today);
            }
        }
        let share = |n: i32, of: i32| f64::from(n) / f64::from(of.max(1));
        assert!((0.015..0.045).contains(&share(raf, with_summary)), "{raf}");
        assert!((0.002..0.03).contains(&share(died, with_summary)), "{died}");
        assert!(
            plans >= 3 && share(plans, children) < 0.05,
            "{plans} of {children}"
        );
    }

    #[test]
    fn additional_information_is_seeded_for_part_of_the_population_and_held_as_consent_allows() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let practices = practices(3_000, &mut rng);
        let (mut shared, mut withheld, mut sensitive, mut with_reason) = (0, 0, 0, 0);
        for i in 0..3_000 {
            let Some(row) = patient(i, 11, &practices) else {
                continue;
            };
            let Some(s) = &row.summary else { continue };
            let preference = row.consent.as_ref().map(|c| c.preference);
            let ai = &s.additional;
            match &ai.history {
                Section::Recorded { .. } => {
                    shared += 1;
                    assert!(
                        scr_model::additional::allows_additional(preference),
                        "patient {i}: additional information held under {preference:?}"
                    );
                }
                Section::Withheld => {
                    withheld += 1;
                    assert!(!scr_model::additional::allows_additional(preference));
                    assert!(s.medications.iter().all(|m| m.reason.is_none()));
                }
                Section::NotIncluded => {}
            }
            let sensitive_here = ai.history.entries().iter().any(|h| h.sensitive.is_some())
                || ai
                    .procedures
                    .entries()
                    .iter()
                    .any(|p| p.sensitive.is_some());
            if sensitive_here {
                sensitive += 1;
                assert!(
                    ai.sensitive_included,
                    "patient {i}: sensitive entry held unasked"
                );
            }
            with_reason += usize::from(s.medications.iter().any(|m| m.reason.is_some()));
        }
        assert!((800..1_400).contains(&shared), "{shared}");
        assert!(withheld >= 20, "{withheld}");
        assert!(sensitive >= 3, "{sensitive}");
        assert!(with_reason >= 100, "{with_reason}");
    }
}
