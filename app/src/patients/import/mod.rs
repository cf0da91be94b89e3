//! Importing patients from a spreadsheet or another system's CSV export.
//!
//! The clinic uploads a file ([`Table::parse`]), maps its columns to MediSync's
//! fields (the mapping of the last import is offered again for headers it knew),
//! looks at the first rows with what is wrong with each, and starts the run. The
//! run is a job ([`run`]) that imports the file in chunks, each chunk one
//! transaction that also moves the import's progress on: a run that stops (the
//! server restarts, the plan's patient limit is reached) resumes from the last
//! chunk that landed, never doing a row twice, or is rolled back as a whole.
//! Every row that is not imported lands in the import's report with its reason:
//! a field that fails the registry's rules, a record number in use, or a
//! possible duplicate of a registered patient or of an earlier row of the file.
//!
//! The pages are plain HTML the server writes (`page`): the import is a desk
//! task for one person, and its code costs no one's phone anything.

pub mod bench;
pub mod db;
pub mod page;
pub mod run;
pub mod steps;

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use uuid::Uuid;

use super::lists::{optional, short, EmergencyContact, Identifier, Insurance};
use super::{BloodType, Details, Mrn, NewPatient, Sex};

/// The largest file accepted.
pub const MAX_BYTES: usize = 20 * 1024 * 1024;
/// The most rows one import holds (a larger registry is split into files).
pub const MAX_ROWS: usize = 200_000;
/// The most columns a file may have.
pub const MAX_COLUMNS: usize = 100;
/// Rows shown in the preview.
pub const PREVIEW_ROWS: usize = 10;
/// Days an import's file and report are kept after it ends (or since it was
/// left): they hold patients' details copied from another system.
pub const KEEP_DAYS: i64 = 30;

/// A MediSync field a column can be mapped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Mrn,
    GivenName,
    FamilyName,
    PreferredName,
    BirthDate,
    Sex,
    GenderIdentity,
    Phone,
    Email,
    Address,
    PreferredLanguage,
    BloodType,
    ContactName,
    ContactRelation,
    ContactPhone,
    InsuranceProvider,
    InsurancePolicy,
    InsuranceGroup,
    /// An identifier from another system; the column's header names the system
    /// ("NHS number", "Old MRN").
    Identifier,
}

impl Field {
    pub const ALL: [Field; 19] = [
        Field::GivenName,
        Field::FamilyName,
        Field::BirthDate,
        Field::Sex,
        Field::Mrn,
        Field::PreferredName,
        Field::GenderIdentity,
        Field::Phone,
        Field::Email,
        Field::Address,
        Field::PreferredLanguage,
        Field::BloodType,
        Field::ContactName,
        Field::ContactRelation,
        Field::ContactPhone,
        Field::InsuranceProvider,
        Field::InsurancePolicy,
        Field::InsuranceGroup,
        Field::Identifier,
    ];

    /// The form field's name (`map_given_name`) and the mapping's key.
    pub fn key(self) -> &'static str {
        match self {
            Field::Mrn => "mrn",
            Field::GivenName => "given_name",
            Field::FamilyName => "family_name",
            Field::PreferredName => "preferred_name",
            Field::BirthDate => "birth_date",
            Field::Sex => "sex",
            Field::GenderIdentity => "gender_identity",
            Field::Phone => "phone",
            Field::Email => "email",
            Field::Address => "address",
            Field::PreferredLanguage => "preferred_language",
            Field::BloodType => "blood_type",
            Field::ContactName => "contact_name",
            Field::ContactRelation => "contact_relation",
            Field::ContactPhone => "contact_phone",
            Field::InsuranceProvider => "insurance_provider",
            Field::InsurancePolicy => "insurance_policy",
            Field::InsuranceGroup => "insurance_group",
            Field::Identifier => "identifier",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Field::Mrn => "Record number (empty: the next number)",
            Field::GivenName => "Given name",
            Field::FamilyName => "Family name",
            Field::PreferredName => "Preferred name",
            Field::BirthDate => "Date of birth",
            Field::Sex => "Sex",
            Field::GenderIdentity => "Gender identity",
            Field::Phone => "Phone",
            Field::Email => "Email",
            Field::Address => "Address",
            Field::PreferredLanguage => "Preferred language",
            Field::BloodType => "Blood type",
            Field::ContactName => "Emergency contact's name",
            Field::ContactRelation => "Emergency contact's relation",
            Field::ContactPhone => "Emergency contact's phone",
            Field::InsuranceProvider => "Insurance provider",
            Field::InsurancePolicy => "Insurance policy number",
            Field::InsuranceGroup => "Insurance group number",
            Field::Identifier => "Identifier from another system (named by the column's header)",
        }
    }

    /// Fields every row needs.
    pub fn required(self) -> bool {
        matches!(
            self,
            Field::GivenName | Field::FamilyName | Field::BirthDate | Field::Sex
        )
    }

    /// Headers other systems and spreadsheets use for this field, folded
    /// ([`header_key`]).
    fn synonyms(self) -> &'static [&'static str] {
        match self {
            Field::Mrn => &[
                "mrn",
                "recordnumber",
                "medicalrecordnumber",
                "patientnumber",
                "patientid",
                "chartnumber",
                "fileno",
                "filenumber",
            ],
            Field::GivenName => &["givenname", "firstname", "forename", "first", "given"],
            Field::FamilyName => &["familyname", "lastname", "surname", "last", "family"],
            Field::PreferredName => &["preferredname", "nickname", "knownas"],
            Field::BirthDate => &["birthdate", "dateofbirth", "dob", "born", "birthday"],
            Field::Sex => &["sex", "gender", "administrativesex"],
            Field::GenderIdentity => &["genderidentity"],
            Field::Phone => &[
                "phone",
                "mobile",
                "mobilephone",
                "cell",
                "cellphone",
                "telephone",
                "phonenumber",
            ],
            Field::Email => &["email", "emailaddress", "mail"],
            Field::Address => &["address", "homeaddress", "streetaddress"],
            Field::PreferredLanguage => &["language", "preferredlanguage"],
            Field::BloodType => &["bloodtype", "bloodgroup"],
            Field::ContactName => &[
                "emergencycontact",
                "emergencycontactname",
                "nextofkin",
                "nextofkinname",
                "nok",
                "nokname",
            ],
            Field::ContactRelation => &[
                "relationship",
                "relation",
                "emergencycontactrelation",
                "emergencycontactrelationship",
                "nextofkinrelationship",
                "nokrelationship",
            ],
            Field::ContactPhone => &[
                "emergencyphone",
                "emergencycontactphone",
                "emergencycontactnumber",
                "nextofkinphone",
                "nokphone",
            ],
            Field::InsuranceProvider => &[
                "insurer",
                "insurance",
                "insuranceprovider",
                "insurancecompany",
                "payer",
                "healthinsurer",
            ],
            Field::InsurancePolicy => &[
                "policynumber",
                "policyno",
                "insurancenumber",
                "insurancepolicy",
                "memberid",
                "membernumber",
            ],
            Field::InsuranceGroup => &["groupnumber", "groupno", "insurancegroup"],
            Field::Identifier => &[
                "nationalid",
                "nationalidnumber",
                "nhsnumber",
                "nhisnumber",
                "oldmrn",
                "previousmrn",
                "externalid",
            ],
        }
    }
}

impl std::str::FromStr for Field {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Field::ALL.into_iter().find(|f| f.key() == s).ok_or(())
    }
}

/// A header as compared with known ones: letters and digits, lower case.
pub fn header_key(header: &str) -> String {
    header
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .flat_map(|c| c.to_lowercase())
        .collect()
}

/// Which column (by index) feeds each field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping(pub BTreeMap<Field, usize>);

impl Mapping {
    /// A first guess: what the clinic mapped these headers to last time, then
    /// the headers' usual names.
    pub fn guess(headers: &[String], remembered: &HashMap<String, Field>) -> Self {
        let mut map = BTreeMap::new();
        for (i, header) in headers.iter().enumerate() {
            let key = header_key(header);
            let field = remembered.get(&key).copied().or_else(|| {
                Field::ALL
                    .into_iter()
                    .find(|f| f.synonyms().contains(&key.as_str()))
            });
            if let Some(field) = field {
                map.entry(field).or_insert(i);
            }
        }
        Self(map)
    }

    /// What to remember of this mapping: header key → field.
    pub fn remembered(&self, headers: &[String]) -> HashMap<String, Field> {
        self.0
            .iter()
            .filter_map(|(f, &i)| headers.get(i).map(|h| (header_key(h), *f)))
            .collect()
    }

    /// The mapping's problem, if any: a required field without a column, a
    /// group of fields without the ones it needs (an emergency contact's name
    /// and phone, an insurance's provider and policy number), an identifier
    /// column whose header cannot name its system, or two fields from one column.
    pub fn check(&self, headers: &[String]) -> Result<(), String> {
        let columns = headers.len();
        let missing: Vec<&str> = Field::ALL
            .into_iter()
            .filter(|f| f.required() && !self.0.contains_key(f))
            .map(Field::label)
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "choose the column for: {}",
                missing.join(", ").to_lowercase()
            ));
        }
        if self.0.values().any(|&i| i >= columns) {
            return Err("choose columns from the file's own".into());
        }
        for (group, needed, what) in [
            (
                &[
                    Field::ContactName,
                    Field::ContactRelation,
                    Field::ContactPhone,
                ][..],
                &[Field::ContactName, Field::ContactPhone][..],
                "an emergency contact needs the columns of its name and its phone",
            ),
            (
                &[
                    Field::InsuranceProvider,
                    Field::InsurancePolicy,
                    Field::InsuranceGroup,
                ][..],
                &[Field::InsuranceProvider, Field::InsurancePolicy][..],
                "insurance needs the columns of its provider and its policy number",
            ),
        ] {
            let any = group.iter().any(|f| self.0.contains_key(f));
            if any && !needed.iter().all(|f| self.0.contains_key(f)) {
                return Err(what.into());
            }
        }
        if self.0.contains_key(&Field::Identifier) && self.identifier_system(headers).is_none() {
            return Err(
                "the identifier's column needs a header of 2 to 60 characters naming the system \
                 (\"NHS number\", \"Old MRN\")"
                    .into(),
            );
        }
        let mut used: Vec<usize> = self.0.values().copied().collect();
        used.sort_unstable();
        if used.windows(2).any(|w| w[0] == w[1]) {
            return Err("each column can feed one field only".into());
        }
        Ok(())
    }

    /// What issued the identifiers of the identifier column: its header.
    pub fn identifier_system(&self, headers: &[String]) -> Option<String> {
        let header = headers.get(*self.0.get(&Field::Identifier)?)?.trim();
        (2..=60)
            .contains(&header.chars().count())
            .then(|| header.to_owned())
    }

    fn cell<'a>(&self, row: &'a [String], field: Field) -> Option<&'a str> {
        let i = *self.0.get(&field)?;
        row.get(i).map(|s| s.trim()).filter(|s| !s.is_empty())
    }
}

/// A parsed file: its header row and the rows under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Each row's number as a spreadsheet shows it (the header is row 1).
    pub numbers: Vec<usize>,
}

impl Table {
    /// Reads a CSV file (comma, semicolon or tab separated, UTF-8 with or
    /// without a byte-order mark, quoted fields with line breaks allowed).
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() > MAX_BYTES {
            return Err("the file is larger than 20 MB; split it into several files".into());
        }
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let text = std::str::from_utf8(bytes).map_err(|_| {
            "the file is not UTF-8 text: save it from your spreadsheet as \"CSV UTF-8\"".to_owned()
        })?;
        if text.contains('\0') {
            return Err("this is not a CSV file: save it from your spreadsheet as CSV".into());
        }
        let first_line = text.lines().next().unwrap_or_default();
        let delimiter = [b',', b';', b'\t']
            .into_iter()
            .max_by_key(|d| first_line.bytes().filter(|b| b == d).count())
            .unwrap_or(b',');
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut records = reader.records();
        let headers: Vec<String> = match records.next() {
            Some(Ok(h)) => h.iter().map(|s| s.trim().to_owned()).collect(),
            Some(Err(e)) => return Err(format!("the header row cannot be read: {e}")),
            None => return Err("the file is empty".into()),
        };
        if headers.iter().all(String::is_empty) {
            return Err("the first row must name the columns".into());
        }
        if headers.len() > MAX_COLUMNS {
            return Err(format!("the file has more than {MAX_COLUMNS} columns"));
        }
        let (mut rows, mut numbers) = (Vec::new(), Vec::new());
        for (i, record) in records.enumerate() {
            let record = record
                .map_err(|e| format!("row {} cannot be read ({e}); check its quotes", i + 2))?;
            if record.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            if rows.len() == MAX_ROWS {
                return Err(format!(
                    "the file has more than {MAX_ROWS} rows; split it into several files"
                ));
            }
            rows.push(record.iter().map(str::to_owned).collect());
            numbers.push(i + 2);
        }
        if rows.is_empty() {
            return Err("the file has a header row but no patients under it".into());
        }
        Ok(Self {
            headers,
            rows,
            numbers,
        })
    }
}

/// What a row needs from the clinic to be read.
pub struct RowRules<'a> {
    pub today: NaiveDate,
    /// The clinic's date format, tried before ISO dates (always accepted).
    pub date_format: &'a str,
    pub country: Option<&'a str>,
}

/// A row read as a registration; the record number is the typed one, if any.
/// The emergency contact and insurance become the patient's primary ones.
#[derive(Debug, Clone)]
pub struct RowPatient {
    pub mrn: Option<Mrn>,
    pub patient: NewPatient,
    pub contact: Option<EmergencyContact>,
    pub insurance: Option<Insurance>,
    pub identifier: Option<Identifier>,
}

/// Reads one row by the mapping, with the registry's own rules; the error says
/// which field is wrong and how. `identifier_system` names the identifier
/// column's system ([`Mapping::identifier_system`]).
pub fn read_row(
    row: &[String],
    map: &Mapping,
    rules: &RowRules<'_>,
    identifier_system: Option<&str>,
) -> Result<RowPatient, String> {
    let cell = |f: Field| map.cell(row, f);
    let text = |f: Field| cell(f).map(str::to_owned);
    let need =
        |f: Field| cell(f).ok_or_else(|| format!("{}: empty", Field::label(f).to_lowercase()));
    let mrn = cell(Field::Mrn)
        .map(|m| Mrn::parse(m).map_err(|e| format!("record number: {e}")))
        .transpose()?;
    let birth_date = read_date(need(Field::BirthDate)?, rules.date_format)
        .ok_or_else(|| "date of birth: not a date in the chosen format".to_owned())?;
    let sex = read_sex(need(Field::Sex)?)
        .ok_or_else(|| "sex: use female, male, other or unknown (or F, M, O, U)".to_owned())?;
    let phone = cell(Field::Phone)
        .map(|p| super::phone::normalize(p, rules.country))
        .transpose()
        .map_err(|e| format!("phone: {e}"))?;
    let email = cell(Field::Email)
        .map(|e| crate::identity::Email::parse(e).map(|e| e.to_string()))
        .transpose()
        .map_err(|e| format!("email: {e}"))?;
    let blood_type = cell(Field::BloodType)
        .map(|b| b.to_uppercase().replace(' ', "").parse::<BloodType>())
        .transpose()
        .map_err(|_| "blood type: use A+, A-, B+, B-, AB+, AB-, O+ or O-".to_owned())?;
    let patient = NewPatient {
        mrn: Mrn::parse("PENDING").map_err(|e| e.to_string())?,
        given_name: need(Field::GivenName)?.to_owned(),
        family_name: need(Field::FamilyName)?.to_owned(),
        birth_date,
        sex,
        email,
        phone,
        primary_staff_id: None,
        details: Details {
            preferred_name: text(Field::PreferredName),
            gender_identity: text(Field::GenderIdentity),
            address: text(Field::Address),
            preferred_language: text(Field::PreferredLanguage),
            blood_type,
        },
    };
    patient.validate(rules.today).map_err(|(field, m)| {
        // The registration's own messages may already name the field.
        let field = field.replace('_', " ");
        let m = m.strip_prefix(&format!("the {field}: ")).unwrap_or(&m);
        format!("{field}: {m}")
    })?;
    Ok(RowPatient {
        mrn,
        patient,
        contact: read_contact(&cell, rules)?,
        insurance: read_insurance(&cell)?,
        identifier: read_identifier(&cell, identifier_system)?,
    })
}

/// Says which field of a group a refusal is about ("emergency contact's name: ...").
fn in_field(f: Field) -> impl Fn((&'static str, String)) -> String {
    move |(_, m)| format!("{}: {m}", f.label().to_lowercase())
}

fn read_contact<'a>(
    cell: &impl Fn(Field) -> Option<&'a str>,
    rules: &RowRules<'_>,
) -> Result<Option<EmergencyContact>, String> {
    let (name, relation, phone) = (
        cell(Field::ContactName),
        cell(Field::ContactRelation),
        cell(Field::ContactPhone),
    );
    if name.is_none() && relation.is_none() && phone.is_none() {
        return Ok(None);
    }
    let need = |f: Field, v: Option<&'a str>| {
        v.ok_or_else(|| format!("{}: empty", f.label().to_lowercase()))
    };
    let name = short("name", need(Field::ContactName, name)?, 2, 120)
        .map_err(in_field(Field::ContactName))?;
    let relation = short("relation", relation.unwrap_or("Emergency contact"), 1, 60)
        .map_err(in_field(Field::ContactRelation))?;
    let phone = super::phone::normalize(need(Field::ContactPhone, phone)?, rules.country)
        .map_err(|m| format!("{}: {m}", Field::ContactPhone.label().to_lowercase()))?;
    Ok(Some(EmergencyContact {
        id: Uuid::now_v7(),
        name,
        relation,
        phone,
        primary: true,
    }))
}

fn read_insurance<'a>(
    cell: &impl Fn(Field) -> Option<&'a str>,
) -> Result<Option<Insurance>, String> {
    let (provider, policy, group) = (
        cell(Field::InsuranceProvider),
        cell(Field::InsurancePolicy),
        cell(Field::InsuranceGroup),
    );
    if provider.is_none() && policy.is_none() && group.is_none() {
        return Ok(None);
    }
    let need = |f: Field, v: Option<&'a str>| {
        v.ok_or_else(|| format!("{}: empty", f.label().to_lowercase()))
    };
    Ok(Some(Insurance {
        id: Uuid::now_v7(),
        provider: short(
            "provider",
            need(Field::InsuranceProvider, provider)?,
            2,
            120,
        )
        .map_err(in_field(Field::InsuranceProvider))?,
        policy_number: short(
            "policy_number",
            need(Field::InsurancePolicy, policy)?,
            1,
            60,
        )
        .map_err(in_field(Field::InsurancePolicy))?,
        group_number: optional("group_number", group, 60)
            .map_err(in_field(Field::InsuranceGroup))?,
        subscriber: None,
        valid_from: None,
        valid_to: None,
        primary: true,
    }))
}

fn read_identifier<'a>(
    cell: &impl Fn(Field) -> Option<&'a str>,
    system: Option<&str>,
) -> Result<Option<Identifier>, String> {
    let (Some(value), Some(system)) = (cell(Field::Identifier), system) else {
        return Ok(None);
    };
    let value = short("value", value, 1, 60).map_err(|(_, m)| format!("{system}: {m}"))?;
    Ok(Some(Identifier {
        id: Uuid::now_v7(),
        system: system.to_owned(),
        value,
    }))
}

fn read_date(text: &str, format: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, format)
        .or_else(|_| NaiveDate::parse_from_str(text, "%Y-%m-%d"))
        .ok()
}

fn read_sex(text: &str) -> Option<Sex> {
    match text.to_lowercase().as_str() {
        "f" | "female" | "woman" => Some(Sex::Female),
        "m" | "male" | "man" => Some(Sex::Male),
        "o" | "other" | "x" => Some(Sex::Other),
        "u" | "unknown" => Some(Sex::Unknown),
        _ => None,
    }
}

/// The folded words of a person's names (for the duplicate rule: a shared name
/// word and the same birth date).
pub fn name_words(given: &str, family: &str) -> Vec<String> {
    let mut words: Vec<String> = super::search::fold(&format!("{given} {family}"))
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2)
        .map(str::to_owned)
        .collect();
    words.sort();
    words.dedup();
    words
}

/// Where a row's duplicate is: a registered patient or an earlier row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Twin {
    Row(usize),
    Patient(String),
}

/// For each row that looks like an earlier row of the same file (same record
/// number, or same phone or email, or same birth date and a shared name word;
/// the last three only when `similar` counts), the earlier row's index. Rows
/// that do not read are skipped.
pub fn twins_in_file(read: &[Option<RowPatient>], similar: bool) -> HashMap<usize, usize> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut twins = HashMap::new();
    for (i, row) in read.iter().enumerate() {
        let Some(row) = row else { continue };
        let keys = twin_keys(row, similar);
        if let Some(first) = keys.iter().find_map(|k| seen.get(k)) {
            twins.insert(i, *first);
        }
        for key in keys {
            seen.entry(key).or_insert(i);
        }
    }
    twins
}

fn twin_keys(row: &RowPatient, similar: bool) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(mrn) = &row.mrn {
        keys.push(format!("m:{mrn}"));
    }
    // One identifier names one patient of the clinic, whatever `similar` says.
    if let Some(i) = &row.identifier {
        keys.push(format!("i:{}", i.value.to_lowercase()));
    }
    if similar {
        let p = &row.patient;
        keys.extend(p.phone.iter().map(|v| format!("p:{v}")));
        keys.extend(p.email.iter().map(|v| format!("e:{}", v.to_lowercase())));
        keys.extend(
            name_words(&p.given_name, &p.family_name)
                .into_iter()
                .map(|w| format!("n:{}:{w}", p.birth_date)),
        );
    }
    keys
}

/// Where an import is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportState {
    /// Uploaded; the columns are being mapped.
    Mapping,
    /// Started: the job runs it (or will, or resumes it).
    Running,
    /// Stopped before the end (the plan's limit, a failure); can resume or roll back.
    Stopped,
    Done,
    RolledBack,
}

crate::text::text_enum!(ImportState {
    Mapping => "mapping",
    Running => "running",
    Stopped => "stopped",
    Done => "done",
    RolledBack => "rolled_back",
});

/// An import as its pages show it.
#[derive(Debug, Clone)]
pub struct Import {
    pub id: uuid::Uuid,
    pub file_name: String,
    pub headers: Vec<String>,
    pub mapping: Mapping,
    pub date_format: String,
    /// Import rows that only look like someone (phone, email, name and birth
    /// date); a record number in use is never imported.
    pub allow_similar: bool,
    pub state: ImportState,
    pub total_rows: i64,
    pub processed_rows: i64,
    pub imported_rows: i64,
    pub rejected_rows: i64,
    pub message: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// One line of the report: a row of the file that was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The row's number in the file as a spreadsheet shows it (header = 1).
    pub row: i64,
    pub reason: String,
    pub cells: Vec<String>,
}

/// The rejected rows as a CSV the clinic can fix and import again: the file's
/// own columns, then the row number and the reason.
pub fn report_csv(headers: &[String], rejected: &[Rejected]) -> Result<Vec<u8>, String> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut head: Vec<&str> = headers.iter().map(String::as_str).collect();
    head.extend(["Row in file", "Why it was not imported"]);
    out.write_record(&head).map_err(|e| e.to_string())?;
    for r in rejected {
        let mut line: Vec<String> = r.cells.iter().map(|c| spreadsheet_safe(c)).collect();
        line.resize(headers.len(), String::new());
        line.push(r.row.to_string());
        line.push(r.reason.clone());
        out.write_record(&line).map_err(|e| e.to_string())?;
    }
    out.into_inner().map_err(|e| e.to_string())
}

/// A cell that a spreadsheet would run as a formula is written as text.
fn spreadsheet_safe(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && !looks_numeric(cell) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

fn looks_numeric(cell: &str) -> bool {
    cell.len() > 1
        && cell[1..]
            .chars()
            .all(|c| c.is_ascii_digit() || " ().-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> RowRules<'static> {
        RowRules {
            today: NaiveDate::from_ymd_opt(2026, 12, 3).expect("valid"),
            date_format: "%d/%m/%Y",
            country: Some("GB"),
        }
    }

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| (*c).to_owned()).collect()
    }

    fn table(text: &str) -> Table {
        Table::parse(text.as_bytes()).expect("parses")
    }

    #[test]
    fn files_from_spreadsheets_are_read_whatever_their_separator() {
        let comma = table("\u{feff}First name,Last name\r\n,\r\nAda,\"Love, lace\"\r\n\r\n");
        assert_eq!(comma.headers, vec!["First name", "Last name"]);
        assert_eq!(comma.rows, vec![row(&["Ada", "Love, lace"])]);
        // Blank rows are skipped but keep their place in the numbering.
        assert_eq!(comma.numbers, vec![3]);
        let semicolon = table("First;Last\nAda;\"Line\nbreak\"\n");
        assert_eq!(semicolon.rows, vec![row(&["Ada", "Line\nbreak"])]);
        let tab = table("First\tLast\nAda\tLovelace");
        assert_eq!(tab.rows, vec![row(&["Ada", "Lovelace"])]);
    }

    #[test]
    fn files_that_are_not_csv_are_refused_with_a_reason() {
        assert!(Table::parse(b"").expect_err("refused").contains("empty"));
        assert!(Table::parse(b"a,b\n")
            .expect_err("refused")
            .contains("no patients"));
        assert!(Table::parse(b"a,b\n\xff\xfe,x")
            .expect_err("refused")
            .contains("UTF-8"));
        assert!(Table::parse(b"%PDF-1.7\0\0")
            .expect_err("refused")
            .contains("not a CSV"));
        let wide = (0..=MAX_COLUMNS)
            .map(|i| format!("c{i}"))
            .collect::<Vec<_>>()
            .join(",");
        assert!(Table::parse(format!("{wide}\n1").as_bytes())
            .expect_err("refused")
            .contains("columns"));
    }

    #[test]
    fn usual_headers_are_mapped_and_remembered_ones_win() {
        let headers = row(&[
            "Surname",
            "First Name",
            "D.O.B.",
            "Gender",
            "Cell",
            "NHIS no",
        ]);
        let guess = Mapping::guess(&headers, &HashMap::new());
        assert_eq!(guess.0.get(&Field::FamilyName), Some(&0));
        assert_eq!(guess.0.get(&Field::GivenName), Some(&1));
        assert_eq!(guess.0.get(&Field::BirthDate), Some(&2));
        assert_eq!(guess.0.get(&Field::Sex), Some(&3));
        assert_eq!(guess.0.get(&Field::Phone), Some(&4));
        assert_eq!(guess.0.get(&Field::Mrn), None);
        let remembered = HashMap::from([("nhisno".to_owned(), Field::Mrn)]);
        let guess = Mapping::guess(&headers, &remembered);
        assert_eq!(guess.0.get(&Field::Mrn), Some(&5));
        assert_eq!(guess.remembered(&headers).get("nhisno"), Some(&Field::Mrn));
    }

    #[test]
    fn a_mapping_needs_the_required_fields_each_from_its_own_column() {
        let mut map = Mapping(BTreeMap::from([
            (Field::GivenName, 0),
            (Field::FamilyName, 1),
            (Field::BirthDate, 2),
        ]));
        let headers = row(&[
            "Given",
            "Family",
            "Born",
            "Sex",
            "Kin",
            "Kin phone",
            "X",
            "Insurer",
        ]);
        assert!(map.check(&headers).expect_err("refused").contains("sex"));
        map.0.insert(Field::Sex, 2);
        assert!(map
            .check(&headers)
            .expect_err("refused")
            .contains("one field only"));
        map.0.insert(Field::Sex, 9);
        assert!(map.check(&headers).is_err());
        map.0.insert(Field::Sex, 3);
        assert_eq!(map.check(&headers), Ok(()));

        // A contact's name without its phone, insurance without its policy.
        map.0.insert(Field::ContactName, 4);
        assert!(map.check(&headers).expect_err("refused").contains("phone"));
        map.0.insert(Field::ContactPhone, 5);
        assert_eq!(map.check(&headers), Ok(()));
        map.0.insert(Field::InsuranceProvider, 7);
        assert!(map.check(&headers).expect_err("refused").contains("policy"));
        map.0.remove(&Field::InsuranceProvider);

        // The identifier's header names its system: one letter cannot.
        map.0.insert(Field::Identifier, 6);
        assert!(map.check(&headers).expect_err("refused").contains("header"));
        map.0.insert(Field::Identifier, 7);
        assert_eq!(map.check(&headers), Ok(()));
        assert_eq!(map.identifier_system(&headers).as_deref(), Some("Insurer"));
    }

    fn map() -> Mapping {
        Mapping(BTreeMap::from([
            (Field::GivenName, 0),
            (Field::FamilyName, 1),
            (Field::BirthDate, 2),
            (Field::Sex, 3),
            (Field::Phone, 4),
            (Field::Email, 5),
            (Field::Mrn, 6),
            (Field::BloodType, 7),
        ]))
    }

    #[test]
    fn a_row_is_read_with_the_registry_rules() {
        let read = read_row(
            &row(&[
                "Ada",
                "Lovelace",
                "10/12/1985",
                "F",
                "020 7946 0958",
                "ADA@example.com",
                "old-7",
                "ab +",
            ]),
            &map(),
            &rules(),
            None,
        )
        .expect("reads");
        assert_eq!(read.mrn.expect("valid").as_str(), "OLD-7");
        let p = read.patient;
        assert_eq!(
            p.birth_date,
            NaiveDate::from_ymd_opt(1985, 12, 10).expect("valid")
        );
        assert_eq!(p.sex, Sex::Female);
        assert_eq!(p.phone.as_deref(), Some("+442079460958"));
        assert_eq!(p.details.blood_type, Some(BloodType::AbPos));
        // ISO dates are read whatever the clinic's format.
        let iso = read_row(
            &row(&["Ada", "Lovelace", "1985-12-10", "female"]),
            &map(),
            &rules(),
            None,
        );
        assert_eq!(iso.expect("valid").patient.birth_date, p.birth_date);
    }

    #[test]
    fn a_rows_contact_insurance_and_identifier_are_read_with_the_lists_rules() {
        let mut map = map();
        for (f, c) in [
            (Field::ContactName, 8),
            (Field::ContactRelation, 9),
            (Field::ContactPhone, 10),
            (Field::InsuranceProvider, 11),
            (Field::InsurancePolicy, 12),
            (Field::InsuranceGroup, 13),
            (Field::Identifier, 14),
        ] {
            map.0.insert(f, c);
        }
        let cells = |kin: &str, kin_phone: &str, insurer: &str, policy: &str, id: &str| {
            let mut r = row(&["Ada", "Lovelace", "10/12/1985", "F", "", "", "", ""]);
            r.extend(row(&[kin, "", kin_phone, insurer, policy, "", id]));
            r
        };
        let read = read_row(
            &cells(
                "Bo Lovelace",
                "07700 900123",
                "Acme Health",
                "P-1",
                "943 476 5919",
            ),
            &map,
            &rules(),
            Some("NHS number"),
        )
        .expect("reads");
        let contact = read.contact.expect("a contact");
        assert_eq!(contact.phone, "+447700900123");
        // No relation in the file: the contact is still an emergency contact.
        assert_eq!(contact.relation, "Emergency contact");
        assert!(contact.primary);
        let insurance = read.insurance.expect("insurance");
        assert_eq!(
            (
                insurance.provider.as_str(),
                insurance.policy_number.as_str()
            ),
            ("Acme Health", "P-1")
        );
        assert_eq!(insurance.group_number, None);
        let identifier = read.identifier.expect("an identifier");
        assert_eq!(
            (identifier.system.as_str(), identifier.value.as_str()),
            ("NHS number", "943 476 5919")
        );

        // Empty cells: nothing to add, and no refusal.
        let bare = read_row(
            &cells("", "", "", "", ""),
            &map,
            &rules(),
            Some("NHS number"),
        )
        .expect("reads");
        assert!(bare.contact.is_none() && bare.insurance.is_none() && bare.identifier.is_none());

        // Half a contact or half a policy is refused, naming the field.
        for (cells, said) in [
            (
                cells("Bo Lovelace", "", "", "", ""),
                "emergency contact's phone: empty",
            ),
            (
                cells("", "07700 900123", "", "", ""),
                "emergency contact's name: empty",
            ),
            (
                cells("Bo", "not a phone", "", "", ""),
                "emergency contact's phone",
            ),
            (
                cells("", "", "Acme Health", "", ""),
                "insurance policy number: empty",
            ),
            (cells("", "", "", "P-1", ""), "insurance provider: empty"),
        ] {
            let e = read_row(&cells, &map, &rules(), Some("NHS number")).expect_err("refused");
            assert!(e.starts_with(said), "{e}");
        }
    }

    #[test]
    fn a_bad_row_names_its_field() {
        let cases = [
            (row(&["A", "Lovelace", "10/12/1985", "F"]), "given name"),
            (row(&["Ada", "", "10/12/1985", "F"]), "family name: empty"),
            (
                row(&["Ada", "Lovelace", "31/02/1985", "F"]),
                "date of birth",
            ),
            (row(&["Ada", "Lovelace", "10/12/2031", "F"]), "future"),
            (row(&["Ada", "Lovelace", "10/12/1985", "Q"]), "sex"),
            (row(&["Ada", "Lovelace", "10/12/1985", "F", "12"]), "phone"),
            (
                row(&["Ada", "Lovelace", "10/12/1985", "F", "", "not-mail"]),
                "email",
            ),
            (
                row(&["Ada", "Lovelace", "10/12/1985", "F", "", "", "no spaces"]),
                "record number",
            ),
            (
                row(&["Ada", "Lovelace", "10/12/1985", "F", "", "", "", "C+"]),
                "blood type",
            ),
        ];
        for (cells, expected) in cases {
            let e = read_row(&cells, &map(), &rules(), None).expect_err("refused");
            assert!(e.contains(expected), "{cells:?}: {e}");
        }
    }

    #[test]
    fn earlier_rows_of_the_file_are_found_as_twins() {
        let read =
            |cells: &[&str]| Some(read_row(&row(cells), &map(), &rules(), None).expect("valid"));
        let rows = vec![
            read(&["Ada", "Lovelace", "10/12/1985", "F", "", "ada@example.com"]),
            None,
            read(&["Ada", "King", "10/12/1985", "F"]),
            read(&["Augusta", "Byron", "01/01/1990", "F", "", "ADA@example.com"]),
            read(&["Ada", "Lovelace", "11/12/1985", "F"]),
            read(&["Bo", "Xu", "01/01/1990", "M", "", "", "X-1"]),
            read(&["Li", "Wu", "01/01/1991", "M", "", "", "x-1"]),
        ];
        let twins = twins_in_file(&rows, true);
        assert_eq!(twins.get(&2), Some(&0));
        assert_eq!(twins.get(&3), Some(&0));
        assert_eq!(twins.get(&4), None);
        assert_eq!(twins.get(&6), Some(&5));
        // Only the record number counts when similar rows are to be imported.
        let strict = twins_in_file(&rows, false);
        assert_eq!(strict.len(), 1);
        assert_eq!(strict.get(&6), Some(&5));
    }

    #[test]
    fn the_report_keeps_the_file_columns_and_defuses_formulas() {
        let csv = report_csv(
            &row(&["First", "Last"]),
            &[Rejected {
                row: 3,
                reason: "email: not an address".into(),
                cells: row(&["=HYPERLINK(\"x\")", "-7"]),
            }],
        )
        .expect("valid");
        let text = String::from_utf8(csv).expect("valid");
        assert_eq!(
            text,
            "First,Last,Row in file,Why it was not imported\n\"'=HYPERLINK(\"\"x\"\")\",-7,3,email: not an address\n"
        );
    }
}
