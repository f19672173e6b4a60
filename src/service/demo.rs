//! `serve --demo`: a working instance for a newcomer — a demo instansi with units, 500
//! fictional staff with valid NIPs, an open campaign, and three fresh signing links.

use anyhow::{Result, anyhow};
use chrono::NaiveDate;

use crate::domain::nip::{EmployeeKind, StaffId};
use crate::domain::public_url::PublicUrl;
use crate::domain::roster::{RosterRow, UnitRef};
use crate::domain::token;
use crate::store::{NewCampaign, NewInstansi, Store};

const CODE: &str = "demo";
const UNITS: [&str; 8] = [
    "Sekretariat Daerah",
    "Inspektorat",
    "Badan Kepegawaian dan Pengembangan Sumber Daya Manusia",
    "Dinas Pendidikan",
    "Dinas Kesehatan",
    "Dinas Komunikasi dan Informatika",
    "Dinas Perhubungan",
    "Kecamatan Tengah",
];
const FIRST: [&str; 12] = [
    "Budi", "Sri", "Agus", "Dewi", "Joko", "Siti", "Eko", "Ratna", "Bayu", "Indah", "Made", "Ani",
];
const LAST: [&str; 10] = [
    "Santoso",
    "Wulandari",
    "Hidayat",
    "Lestari",
    "Nugroho",
    "Rahayu",
    "Siregar",
    "Pratama",
    "Kusumawati",
    "Wijaya",
];

/// Deterministic fictional staff: mostly PNS, some PPPK, a few non-ASN.
pub fn roster(today: NaiveDate) -> Vec<RosterRow> {
    (0..500u32)
        .map(|i| {
            let birth_year = 1968 + (i % 30);
            let month = 1 + (i % 12);
            let day = 1 + (i % 28);
            let gender = 1 + (i % 2);
            let serial = 1 + (i % 999);
            let (kind, number) = match i % 10 {
                0 => (
                    EmployeeKind::NonAsn,
                    format!("TK/{}/{:04}", 2023 + i % 3, i + 1),
                ),
                1 | 2 => (
                    EmployeeKind::Pppk,
                    format!(
                        "{birth_year}{month:02}{day:02}{}2{}{gender}{serial:03}",
                        2021 + i % 4,
                        1 + (i % 3)
                    ),
                ),
                _ => (
                    EmployeeKind::Pns,
                    format!(
                        "{birth_year}{month:02}{day:02}{}{:02}{gender}{serial:03}",
                        birth_year + 24,
                        1 + (i * 7) % 12
                    ),
                ),
            };
            let id =
                StaffId::parse(kind, &number, today).expect("demo identifiers are generated valid");
            let unit = UNITS[(i as usize) % UNITS.len()];
            RosterRow {
                line: u64::from(i) + 2,
                kind,
                id,
                name: format!(
                    "{} {}",
                    FIRST[(i as usize) % FIRST.len()],
                    LAST[(i as usize / FIRST.len()) % LAST.len()]
                ),
                unit: UnitRef {
                    key: unit.to_string(),
                    name: unit.to_string(),
                },
                parent_unit: None,
                position: Some("Pelaksana".to_string()),
                contact: Default::default(),
            }
        })
        .collect()
}

/// Creates the demo data once, then prints three fresh signing links and a lookup URL.
pub async fn prepare(store: &dyn Store, url: &PublicUrl) -> Result<()> {
    let now = chrono::Utc::now().timestamp();
    let today = chrono::Utc::now().date_naive();
    let rows = roster(today);
    let instansi_id = match store.instansi_by_code(CODE).await? {
        Some(i) => i.id,
        None => {
            let id = store
                .add_instansi(
                    &NewInstansi {
                        code: CODE.to_string(),
                        name: "Pemerintah Kota Contoh".to_string(),
                        place: "Kota Contoh".to_string(),
                        tz: crate::domain::instansi::TimeZone::Jakarta,
                    },
                    now,
                )
                .await?;
            store.import_roster(id, &rows, false, now).await?;
            id
        }
    };
    let campaign_id: i64 = match store.setting("demo_campaign").await? {
        Some(id) => id.parse()?,
        None => {
            let id = store
                .create_campaign(
                    &NewCampaign {
                        instansi_id,
                        template_no: 1,
                        title: "Ikrar Netralitas ASN — Demo".to_string(),
                        place: "Kota Contoh".to_string(),
                        opens_at: now - 3600,
                        closes_at: now + 365 * 86_400,
                        mark_enabled: true,
                        screen_enabled: true,
                        public_enabled: true,
                        unit_ids: Vec::new(),
                    },
                    now,
                )
                .await?;
            store
                .init_setting("demo_campaign", &id.to_string())
                .await?
                .parse()?
        }
    };
    // Public by design, like the demo keys.
    const ADMIN: (&str, &str) = ("admin-demo", "ikrar-demo-admin");
    if store.user_by_username(ADMIN.0).await?.is_none() {
        let hash =
            tokio::task::spawn_blocking(|| crate::domain::account::hash_password(ADMIN.1)).await?;
        store
            .add_user(
                Some(instansi_id),
                ADMIN.0,
                crate::domain::account::Role::Admin,
                &hash,
                now,
            )
            .await?;
    }
    let mut links = Vec::new();
    // ASN staff first: their pledges also show in the NIP lookup.
    for row in rows.iter().filter(|r| r.kind != EmployeeKind::NonAsn) {
        if links.len() == 3 {
            break;
        }
        let issued = store
            .issue_invitations(campaign_id, true, Some(row.id.as_str()), now, &token::mint)
            .await?;
        links.extend(issued);
    }
    if links.is_empty() {
        return Err(anyhow!(
            "every demo employee has signed; delete ikrar-demo.db to start over"
        ));
    }
    eprintln!("Data demo: instansi '{CODE}', 500 pegawai, kampanye {campaign_id} (terbuka).");
    eprintln!(
        "Admin: {}/admin/login — pengguna {}, kata sandi {} (publik, hanya untuk demo)",
        url.origin(),
        ADMIN.0,
        ADMIN.1
    );
    eprintln!("Tautan penandatanganan (masing-masing hanya ditampilkan sekali):");
    for (target, tok) in &links {
        eprintln!(
            "  {} ({}): {}",
            target.name,
            target.number,
            url.signing_link(tok)
        );
    }
    if let Some(nip) = rows.iter().find(|r| r.kind == EmployeeKind::Pns) {
        eprintln!("Cek NIP: {}/cek?nip={}", url.origin(), nip.id.as_str());
    }
    Ok(())
}
