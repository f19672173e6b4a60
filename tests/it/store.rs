//! Store scenarios through the `Store` trait alone, on whichever engine the suite runs on:
//! numbering, roster imports, campaigns and invitations, log appends and their
//! compare-and-swap, unique violations as conflicts, audit, accounts and compliance counts.

use std::collections::HashSet;

use ikrar::domain::account::Role;
use ikrar::domain::roster::RosterRow;
use ikrar::domain::token;
use ikrar::formats::roster::RosterReader;
use ikrar::store::{
    Append, KeyRow, LogHead, NewAnnulment, NewCampaign, NewInstansi, NewPledge, SignContext, Store,
    StoreError, TemplateRow,
};
use ikrar::tlog::keys::KeyPurpose;
use ikrar::tlog::merkle::{Frontier, NodeId, leaf_hash};

use crate::support::*;

const NOW: i64 = 1_732_000_000;

/// Three units: a parent with a child, and one beside them. Two PNS, one PPPK, two non-ASN.
const SIASN: &str = "nipBaru,nama,jenisPegawaiNama,unorId,unorNama,unorIndukId,unorIndukNama,jabatanNama\n\
    199403142015021375,Bayu Purnomo,PNS,D1,Dinas Kominfo,,,Kepala Dinas\n\
    198909202022011971,Sri Lestari,PNS,B1,Bidang TIK,D1,Dinas Kominfo,\n\
    198912282023242024,Dewi Anggraini,PPPK,B1,Bidang TIK,D1,Dinas Kominfo,Pranata Komputer\n\
    TKPK/2022/00003,Fajar Sembiring,Non ASN,S1,Satpol PP,,,Tenaga Kontrak\n\
    TKPK/2022/00004,Rina Wati,Non ASN,S1,Satpol PP,,,\n";

fn rows(csv: &str) -> Vec<RosterRow> {
    RosterReader::new(csv.as_bytes(), chrono::Utc::now().date_naive())
        .expect("header")
        .map(|r| r.expect("valid row"))
        .collect()
}

/// `count` non-ASN staff numbered from `first`, all in one unit.
fn contract_staff(first: usize, count: usize) -> Vec<RosterRow> {
    let mut csv = String::from("nip,nama,jenis,unit,jabatan\n");
    for n in first..first + count {
        csv.push_str(&format!("K-{n:05},Pegawai {n},NON_ASN,Sekretariat,\n"));
    }
    rows(&csv)
}

async fn instansi(store: &dyn Store, code: &str) -> i64 {
    store
        .add_instansi(
            &NewInstansi {
                code: code.into(),
                name: format!("Pemerintah {code}"),
                place: "Surakarta".into(),
                tz: ikrar::domain::instansi::TimeZone::Jakarta,
            },
            NOW,
        )
        .await
        .expect("instansi")
}

/// An instansi with the [`SIASN`] roster and a campaign over `units` (keys; none: everyone).
async fn campaign_over(store: &dyn Store, units: &[&str]) -> (i64, i64) {
    let instansi_id = instansi(store, "kominfo").await;
    store
        .import_roster(instansi_id, &rows(SIASN), false, NOW)
        .await
        .expect("import");
    let all = store.units(instansi_id).await.expect("units");
    let unit_ids = units
        .iter()
        .map(|k| all.iter().find(|u| u.key == *k).expect("unit").id)
        .collect();
    let campaign_id = store
        .create_campaign(&new_campaign(instansi_id, unit_ids), NOW)
        .await
        .expect("campaign");
    (instansi_id, campaign_id)
}

fn new_campaign(instansi_id: i64, unit_ids: Vec<i64>) -> NewCampaign {
    NewCampaign {
        instansi_id,
        template_no: 1,
        title: "Ikrar Netralitas".into(),
        place: "Surakarta".into(),
        opens_at: NOW - 60,
        closes_at: NOW + 3600,
        mark_enabled: true,
        screen_enabled: false,
        public_enabled: false,
        unit_ids,
    }
}

async fn context(store: &dyn Store, token: &str) -> SignContext {
    store
        .sign_context(&token::hash(token))
        .await
        .expect("query")
        .expect("invitation exists")
}

/// What the sequencer would append for these signers, as of `head`; records are stand-ins.
fn pledge_append(head: &LogHead, signers: &[&SignContext], at: i64) -> Append {
    let mut frontier = Frontier::from_bytes(head.size, &head.frontier).expect("frontier");
    let mut append = Append {
        old_size: head.size,
        old_root: head.root,
        entries: Vec::new(),
        nodes: Vec::new(),
        head: head.clone(),
        pledges: Vec::new(),
        annulments: Vec::new(),
    };
    for ctx in signers {
        let index = frontier.size();
        let record = format!("pledge {index} by {}", ctx.number).into_bytes();
        append.nodes.extend(frontier.push(leaf_hash(&record)));
        append.entries.push((index, record));
        append.pledges.push(NewPledge {
            campaign_id: ctx.campaign_id,
            employee_id: ctx.employee_id,
            invitation_id: ctx.invitation_id,
            log_index: index,
            number: ctx.number.clone(),
            name: ctx.name.clone(),
            unit_id: ctx.unit_id,
            statement: format!("Saya, {}, berikrar.", ctx.name),
            mark: Some("M".into()),
            signed_at: at,
            client_ip: Some("10.0.0.1".into()),
            user_agent: None,
            signed_via: ikrar::domain::sso::SignedVia::Link,
            sso_subject: None,
        });
    }
    seal(&mut append, &frontier, at);
    append
}

fn seal(append: &mut Append, frontier: &Frontier, at: i64) {
    append.head = LogHead {
        size: frontier.size(),
        root: frontier.root(),
        frontier: frontier.to_bytes(),
        last_time: at,
        checkpoint: format!("checkpoint {}", frontier.size()),
    };
}

/// One append through the transaction, as the sequencer does it.
async fn append(store: &dyn Store, signers: &[&SignContext], at: i64) -> Vec<(i64, i64)> {
    let mut tx = store.begin_append().await.expect("begin");
    let head = tx.lock_head().await.expect("head");
    let ids = tx
        .write(&pledge_append(&head, signers, at))
        .await
        .expect("write");
    tx.commit().await.expect("commit");
    ids
}

#[tokio::test]
async fn store_reports_its_engine_and_answers() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let want = if db.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(store.engine(), want);
    store.ping().await.expect("ping");
    // Migrating twice is harmless.
    store.migrate().await.expect("second migrate");
    assert_eq!(
        store.log_head().await.expect("head"),
        ikrar::store::empty_head()
    );
}

#[tokio::test]
async fn store_instansi_and_units_with_parents() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let id = instansi(store.as_ref(), "kominfo").await;
    let other = instansi(store.as_ref(), "dukcapil").await;
    assert_ne!(id, other);

    let by_code = store
        .instansi_by_code("kominfo")
        .await
        .expect("query")
        .expect("found");
    assert_eq!(
        (by_code.id, by_code.name.as_str()),
        (id, "Pemerintah kominfo")
    );
    assert_eq!(by_code.tz, ikrar::domain::instansi::TimeZone::Jakarta);
    let by_id = store
        .instansi_by_id(other)
        .await
        .expect("query")
        .expect("found");
    assert_eq!(by_id.code, "dukcapil");
    assert!(
        store
            .instansi_by_code("nope")
            .await
            .expect("query")
            .is_none()
    );
    assert!(
        store
            .instansi_by_id(other + 100)
            .await
            .expect("query")
            .is_none()
    );

    let summary = store
        .import_roster(id, &rows(SIASN), false, NOW)
        .await
        .expect("import");
    assert_eq!(summary.units_created, 3);
    let units = store.units(id).await.expect("units");
    let names: Vec<&str> = units.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(
        names,
        ["Bidang TIK", "Dinas Kominfo", "Satpol PP"],
        "by name"
    );
    let dinas = units.iter().find(|u| u.key == "D1").expect("D1");
    let bidang = units.iter().find(|u| u.key == "B1").expect("B1");
    assert_eq!(bidang.parent_id, Some(dinas.id));
    assert_eq!(dinas.parent_id, None);
    assert!(store.units(other).await.expect("units").is_empty());
}

#[tokio::test]
async fn store_templates_are_numbered_densely_and_once() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let builtin = store.templates().await.expect("templates");
    assert!(!builtin.is_empty());
    let numbers: Vec<i64> = builtin.iter().map(|t| t.number).collect();
    assert_eq!(numbers, (1..=builtin.len() as i64).collect::<Vec<_>>());

    let row = |version: i64, body: &str| TemplateRow {
        number: 0,
        code: "uji".into(),
        version,
        title: "Uji".into(),
        body: body.into(),
        sha256: ikrar::domain::statement::sha256(body.as_bytes()).to_vec(),
    };
    let next = builtin.len() as i64 + 1;
    let first = store.add_template(&row(1, "{}"), NOW).await.expect("add");
    assert_eq!(first, next);
    let again = store.add_template(&row(1, "{}"), NOW).await.expect("same");
    assert_eq!(again, first, "the same text is the same template");
    let clash = store.add_template(&row(1, "{\"x\":1}"), NOW).await;
    assert!(
        matches!(clash, Err(StoreError::Conflict(ref m)) if m.contains("uji@1")),
        "{clash:?}"
    );
    let second = store
        .add_template(&row(2, "{\"x\":1}"), NOW)
        .await
        .expect("v2");
    assert_eq!(second, next + 1);

    let all = store.templates().await.expect("templates");
    let last = all.last().expect("some");
    assert_eq!((last.number, last.version), (second, 2));
    assert_eq!(last.body, "{\"x\":1}");
    assert_eq!(last.sha256, row(2, "{\"x\":1}").sha256);
}

#[tokio::test]
async fn store_roster_import_counts_created_updated_and_deactivated() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let id = instansi(store.as_ref(), "kominfo").await;

    // More than one statement's worth of rows, so every chunk is written.
    let first = store
        .import_roster(id, &contract_staff(0, 1200), false, NOW)
        .await
        .expect("import");
    assert_eq!(
        (
            first.created,
            first.updated,
            first.deactivated,
            first.units_created
        ),
        (1200, 0, 0, 1)
    );

    let mut second_rows = contract_staff(200, 1100);
    second_rows[0].name = "Nama Baru".into();
    let second = store
        .import_roster(id, &second_rows, true, NOW + 1)
        .await
        .expect("re-import");
    assert_eq!(
        (
            second.created,
            second.updated,
            second.deactivated,
            second.units_created
        ),
        (100, 1000, 200, 0)
    );

    // HR types a staff number in any case (the admin page lowercases the search).
    let renamed = store.employees(id, "k-00200", 10, 0).await.expect("find");
    assert_eq!(renamed.len(), 1);
    assert_eq!(renamed[0].name, "Nama Baru");
    assert!(renamed[0].active);
    assert_eq!(renamed[0].kind, ikrar::domain::nip::EmployeeKind::NonAsn);
    assert_eq!(renamed[0].unit, "Sekretariat");
    let gone = store.employees(id, "k-00199", 10, 0).await.expect("find");
    assert!(!gone[0].active, "missing from the file, so deactivated");
    // Names match lowercased, a page at a time.
    let by_name = store
        .employees(id, "pegawai 1__", 1000, 0)
        .await
        .expect("find");
    assert_eq!(by_name.len(), 100);
    assert!(by_name.iter().all(|e| !e.active));
    let page = store
        .employees(id, "pegawai 1__", 10, 95)
        .await
        .expect("page");
    assert_eq!(page.len(), 5);
    assert_eq!(page[4].name, "Pegawai 199");
    // The active come first.
    let tens = store
        .employees(id, "pegawai %0", 1000, 0)
        .await
        .expect("find");
    assert_eq!(tens.len(), 129);
    let active = tens.iter().take_while(|e| e.active).count();
    assert_eq!(active, 109, "Pegawai 210..1290 stay, 0..190 are gone");
    assert!(tens[active..].iter().all(|e| !e.active));

    // Deactivating again finds nobody new; a person back in the file is active again.
    let third = store
        .import_roster(id, &contract_staff(199, 1), true, NOW + 2)
        .await
        .expect("third");
    assert_eq!((third.created, third.updated), (0, 1));
    assert_eq!(third.deactivated, 1100);
    let back = store.employees(id, "k-00199", 10, 0).await.expect("find");
    assert!(back[0].active);
}

#[tokio::test]
async fn store_roster_import_is_all_or_nothing() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let id = instansi(store.as_ref(), "kominfo").await;
    store
        .import_roster(id, &contract_staff(0, 3), false, NOW)
        .await
        .expect("import");
    // A constraint the importer does not know: the second write of the import breaks it,
    // after the new unit was already written in the same transaction.
    db_execute(
        &db,
        "CREATE UNIQUE INDEX employees_name_once ON employees (name)",
    )
    .await;
    let mut bad = rows(SIASN);
    bad.extend(contract_staff(0, 3));
    bad[1].name = bad[0].name.clone();
    let err = store
        .import_roster(id, &bad, true, NOW + 1)
        .await
        .expect_err("violates the index");
    assert!(matches!(err, StoreError::Database(_)), "{err:?}");

    let units = store.units(id).await.expect("units");
    assert_eq!(
        units.len(),
        1,
        "no unit of the failed file stays: {units:?}"
    );
    let staff = store.employees(id, "%", 100, 0).await.expect("staff");
    assert_eq!(staff.len(), 3);
    assert!(staff.iter().all(|e| e.active && e.unit == "Sekretariat"));
    // The pool is usable again: the failed transaction was not left open.
    let ok = store
        .import_roster(id, &contract_staff(3, 2), false, NOW + 2)
        .await
        .expect("import after failure");
    assert_eq!(ok.created, 2);
}

/// Runs one statement of SQL both engines accept on the test database, beside the store.
async fn db_execute(db: &TestDb, sql: &'static str) {
    use sqlx::Connection;
    if db.is_postgres() {
        let mut c = sqlx::PgConnection::connect(&db.url).await.expect("connect");
        sqlx::query(sql).execute(&mut c).await.expect("execute");
    } else {
        let mut c = sqlx::SqliteConnection::connect(&db.url)
            .await
            .expect("connect");
        sqlx::query(sql).execute(&mut c).await.expect("execute");
    }
}

#[tokio::test]
async fn store_campaigns_create_list_and_close() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let (instansi_id, first) = campaign_over(store.as_ref(), &["B1"]).await;
    let mut other = new_campaign(instansi_id, Vec::new());
    other.title = "Kedua".into();
    other.mark_enabled = false;
    other.screen_enabled = true;
    let second = store
        .create_campaign(&other, NOW + 5)
        .await
        .expect("second");

    let row = store.campaign(second).await.expect("query").expect("found");
    assert_eq!(row.instansi_id, instansi_id);
    assert_eq!(row.title, "Kedua");
    assert_eq!((row.opens_at, row.closes_at), (NOW - 60, NOW + 3600));
    assert!(!row.mark_enabled && row.screen_enabled);
    assert_eq!(row.closed_at, None);
    let listed: Vec<i64> = store
        .campaigns(instansi_id)
        .await
        .expect("list")
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(listed, [second, first], "newest first");

    assert!(store.close_campaign(first, NOW + 10).await.expect("close"));
    assert!(!store.close_campaign(first, NOW + 20).await.expect("again"));
    let closed = store.campaign(first).await.expect("query").expect("found");
    assert_eq!(closed.closed_at, Some(NOW + 10));
    assert!(store.campaign(second + 100).await.expect("query").is_none());

    // A campaign of a template that does not exist is refused, units and all.
    let mut broken = new_campaign(
        instansi_id,
        vec![store.units(instansi_id).await.expect("u")[0].id],
    );
    broken.template_no = 999;
    assert!(store.create_campaign(&broken, NOW).await.is_err());
    assert_eq!(store.campaigns(instansi_id).await.expect("list").len(), 2);
}

#[tokio::test]
async fn store_invitations_issue_reissue_and_revoke() {
    let db = TestDb::new().await;
    let store = db.store().await;
    // Targeting the parent unit takes in its child unit, not the unit beside them.
    let (_, campaign) = campaign_over(store.as_ref(), &["D1"]).await;
    let issued = store
        .issue_invitations(campaign, false, None, NOW, &token::mint)
        .await
        .expect("issue");
    let mut numbers: Vec<&str> = issued.iter().map(|(t, _)| t.number.as_str()).collect();
    numbers.sort();
    assert_eq!(
        numbers,
        [
            "198909202022011971",
            "198912282023242024",
            "199403142015021375"
        ]
    );
    let again = store
        .issue_invitations(campaign, false, None, NOW, &token::mint)
        .await
        .expect("issue again");
    assert!(again.is_empty(), "everyone already holds an active link");

    let (target, old_token) = &issued[0];
    let ctx = context(store.as_ref(), old_token).await;
    assert_eq!(ctx.campaign_id, campaign);
    assert_eq!(
        (ctx.number.as_str(), ctx.name.as_str()),
        (target.number.as_str(), target.name.as_str())
    );
    assert_eq!(ctx.unit_name, target.unit);
    assert_eq!(ctx.template_no, 1);
    assert_eq!(ctx.revoked_at, None);
    assert_eq!(ctx.pledge_id, None);
    let same = store
        .sign_context_by_invitation(ctx.invitation_id)
        .await
        .expect("query")
        .expect("found");
    assert_eq!(same.employee_id, ctx.employee_id);
    assert!(store.sign_context(&[0; 32]).await.expect("query").is_none());

    assert_eq!(
        store
            .revoke_invitation(campaign, &target.number, NOW + 1)
            .await
            .expect("revoke"),
        1
    );
    assert_eq!(
        store
            .revoke_invitation(campaign, &target.number, NOW + 2)
            .await
            .expect("revoke"),
        0
    );
    assert_eq!(
        context(store.as_ref(), old_token).await.revoked_at,
        Some(NOW + 1)
    );
    let one = store
        .issue_invitations(campaign, false, Some(&target.number), NOW + 3, &token::mint)
        .await
        .expect("issue one");
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].0.employee_id, target.employee_id);

    // Reissuing replaces the links of everyone who has not signed: the signer keeps theirs.
    let signer = context(store.as_ref(), &issued[1].1).await;
    append(store.as_ref(), &[&signer], NOW + 4).await;
    let reissued = store
        .issue_invitations(campaign, true, None, NOW + 5, &token::mint)
        .await
        .expect("reissue");
    let renewed: HashSet<i64> = reissued.iter().map(|(t, _)| t.employee_id).collect();
    assert_eq!(renewed.len(), 2);
    assert!(!renewed.contains(&signer.employee_id));
    assert_eq!(
        context(store.as_ref(), &one[0].1).await.revoked_at,
        Some(NOW + 5)
    );
    assert_eq!(context(store.as_ref(), &issued[1].1).await.revoked_at, None);
    assert_eq!(
        context(store.as_ref(), &reissued[0].1).await.revoked_at,
        None
    );
}

#[tokio::test]
async fn store_log_append_reads_back_head_entries_nodes_and_pledges() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let (instansi_id, campaign) = campaign_over(store.as_ref(), &[]).await;
    let issued = store
        .issue_invitations(campaign, false, None, NOW, &token::mint)
        .await
        .expect("issue");
    let mut signers = Vec::new();
    for (_, t) in &issued {
        signers.push(context(store.as_ref(), t).await);
    }
    let pns = signers
        .iter()
        .find(|c| c.kind == ikrar::domain::nip::EmployeeKind::Pns)
        .expect("PNS");
    let non_asn = signers
        .iter()
        .find(|c| c.kind == ikrar::domain::nip::EmployeeKind::NonAsn)
        .expect("non-ASN");

    let ids = append(store.as_ref(), &[pns, non_asn], NOW + 7200).await;
    assert_eq!(ids.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0, 1]);
    let head = store.log_head().await.expect("head");
    let mut frontier = Frontier::empty();
    let records: Vec<Vec<u8>> = (0..2)
        .map(|i| store.log_entry(i))
        .collect::<futures_util::future::JoinAll<_>>()
        .await
        .into_iter()
        .map(|r| r.expect("query").expect("entry"))
        .collect();
    let mut nodes = Vec::new();
    for r in &records {
        nodes.extend(frontier.push(leaf_hash(r)));
    }
    assert_eq!(head.size, 2);
    assert_eq!(head.root, frontier.root());
    assert_eq!(head.frontier, frontier.to_bytes());
    assert_eq!(
        (head.last_time, head.checkpoint.as_str()),
        (NOW + 7200, "checkpoint 2")
    );
    assert!(store.log_entry(2).await.expect("query").is_none());
    let ids_wanted: Vec<NodeId> = nodes.iter().map(|(id, _)| *id).collect();
    let stored = store.log_nodes(&ids_wanted).await.expect("nodes");
    assert_eq!(stored.len(), 3, "two leaves and their parent");
    for (id, hash) in &nodes {
        assert_eq!(stored[id], *hash);
    }
    assert!(
        store
            .log_nodes(&[NodeId { level: 5, index: 0 }])
            .await
            .expect("nodes")
            .is_empty()
    );
    assert_eq!(
        store.checkpoints().await.expect("checkpoints"),
        [(2, "checkpoint 2".to_string())]
    );

    let (_, pledge_id) = ids[0];
    let receipt = store
        .receipt_for_invitation(pns.invitation_id)
        .await
        .expect("query")
        .expect("receipt");
    assert_eq!((receipt.pledge_id, receipt.log_index), (pledge_id, 0));
    assert_eq!(receipt.record, records[0]);
    assert_eq!(receipt.mark.as_deref(), Some("M"));
    assert_eq!(
        context(
            store.as_ref(),
            &issued
                .iter()
                .find(|(t, _)| t.employee_id == pns.employee_id)
                .expect("t")
                .1
        )
        .await
        .pledge_id,
        Some(pledge_id)
    );
    let view = store
        .pledge_by_log_index(0)
        .await
        .expect("query")
        .expect("view");
    assert_eq!((view.pledge_id, view.instansi_id), (pledge_id, instansi_id));
    assert_eq!(view.number, pns.number);
    assert_eq!(view.template_no, 1);
    assert_eq!(view.annulled_at, None);
    assert_eq!(
        store
            .pledge_by_id(pledge_id)
            .await
            .expect("query")
            .expect("view")
            .log_index,
        0
    );
    assert_eq!(
        store.pledge_record(pledge_id).await.expect("query"),
        Some((pns.invitation_id, records[0].clone()))
    );
    assert_eq!(store.lookup(&pns.number).await.expect("lookup").len(), 1);
    assert!(
        store
            .lookup(&non_asn.number)
            .await
            .expect("lookup")
            .is_empty(),
        "non-ASN staff are never looked up"
    );
    assert_eq!(
        store.signatures_per_hour(campaign).await.expect("hours"),
        [(NOW + 7200 - (NOW + 7200) % 3600, 2)]
    );

    // A second append sees the first one's pledges and extends the same log.
    let mut tx = store.begin_append().await.expect("begin");
    let locked = tx.lock_head().await.expect("head");
    assert_eq!(locked, head);
    let keys: Vec<(i64, i64)> = signers
        .iter()
        .map(|c| (c.campaign_id, c.employee_id))
        .collect();
    let mut existing: Vec<i64> = tx
        .existing_pledges(&keys)
        .await
        .expect("existing")
        .iter()
        .map(|p| p.employee_id)
        .collect();
    existing.sort();
    let mut want = vec![pns.employee_id, non_asn.employee_id];
    want.sort();
    assert_eq!(existing, want);
    let rest: Vec<&SignContext> = signers
        .iter()
        .filter(|c| !want.contains(&c.employee_id))
        .collect();
    tx.write(&pledge_append(&locked, &rest, NOW + 7300))
        .await
        .expect("write");
    tx.commit().await.expect("commit");
    assert_eq!(
        store.log_head().await.expect("head").size,
        2 + rest.len() as u64
    );
}

#[tokio::test]
async fn store_append_refuses_a_head_that_moved_and_rolls_back() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let (_, campaign) = campaign_over(store.as_ref(), &[]).await;
    let issued = store
        .issue_invitations(campaign, false, None, NOW, &token::mint)
        .await
        .expect("issue");
    let a = context(store.as_ref(), &issued[0].1).await;
    let b = context(store.as_ref(), &issued[1].1).await;
    append(store.as_ref(), &[&a], NOW).await;
    let head = store.log_head().await.expect("head");

    // An append computed from a head other than the stored one loses the compare-and-swap.
    let mut tx = store.begin_append().await.expect("begin");
    let locked = tx.lock_head().await.expect("head");
    let mut stale = locked.clone();
    stale.root = [7; 32];
    let mut moved = pledge_append(&locked, &[&b], NOW + 1);
    moved.old_root = stale.root;
    let err = tx.write(&moved).await.expect_err("CAS fails");
    assert!(matches!(err, StoreError::LogMoved), "{err:?}");
    drop(tx);

    // Nothing of the failed append stays, and the next append goes through.
    assert_eq!(store.log_head().await.expect("head"), head);
    assert!(store.log_entry(1).await.expect("query").is_none());
    assert_eq!(store.checkpoints().await.expect("cps").len(), 1);
    assert!(
        store
            .receipt_for_invitation(b.invitation_id)
            .await
            .expect("query")
            .is_none()
    );
    let ids = append(store.as_ref(), &[&b], NOW + 2).await;
    assert_eq!(ids[0].0, 1);
}

#[tokio::test]
async fn store_unique_violations_surface_as_conflicts() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let (_, campaign) = campaign_over(store.as_ref(), &[]).await;

    let dup = store
        .add_instansi(
            &NewInstansi {
                code: "kominfo".into(),
                name: "Lagi".into(),
                place: "Solo".into(),
                tz: ikrar::domain::instansi::TimeZone::Jakarta,
            },
            NOW,
        )
        .await;
    assert!(
        matches!(dup, Err(StoreError::Conflict(ref m)) if m == "instansi code exists"),
        "{dup:?}"
    );

    store
        .add_user(None, "admin", Role::Admin, "hash", NOW)
        .await
        .expect("user");
    let dup = store.add_user(None, "admin", Role::Hr, "hash", NOW).await;
    assert!(
        matches!(dup, Err(StoreError::Conflict(ref m)) if m == "username exists"),
        "{dup:?}"
    );

    // A second valid pledge of the same person in the same campaign, by another invitation.
    let issued = store
        .issue_invitations(campaign, false, None, NOW, &token::mint)
        .await
        .expect("issue");
    let first = context(store.as_ref(), &issued[0].1).await;
    append(store.as_ref(), &[&first], NOW).await;
    store
        .revoke_invitation(campaign, &first.number, NOW)
        .await
        .expect("revoke");
    let again = store
        .issue_invitations(campaign, false, Some(&first.number), NOW, &token::mint)
        .await
        .expect("reissue");
    let second = context(store.as_ref(), &again[0].1).await;
    let mut tx = store.begin_append().await.expect("begin");
    let head = tx.lock_head().await.expect("head");
    let err = tx
        .write(&pledge_append(&head, &[&second], NOW + 1))
        .await
        .expect_err("one valid pledge per person");
    assert!(
        matches!(err, StoreError::Conflict(ref m) if m == "pledge exists"),
        "{err:?}"
    );
    drop(tx);
    assert_eq!(store.log_head().await.expect("head").size, 1);
}

#[tokio::test]
async fn store_annulment_marks_the_pledge_once() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let (_, campaign) = campaign_over(store.as_ref(), &[]).await;
    let issued = store
        .issue_invitations(campaign, false, None, NOW, &token::mint)
        .await
        .expect("issue");
    let signer = context(store.as_ref(), &issued[0].1).await;
    let (_, pledge_id) = append(store.as_ref(), &[&signer], NOW).await[0];

    let annul = |head: &LogHead, at: i64| {
        let mut frontier = Frontier::from_bytes(head.size, &head.frontier).expect("frontier");
        let index = frontier.size();
        let record = format!("annulment {index}").into_bytes();
        let mut append = pledge_append(head, &[], at);
        append.nodes = frontier.push(leaf_hash(&record));
        append.entries = vec![(index, record)];
        append.annulments = vec![NewAnnulment {
            pledge_id,
            invitation_id: signer.invitation_id,
            log_index: index,
            category: "salah_orang".into(),
            reason: "ditandatangani orang lain".into(),
            text: "Dibatalkan".into(),
            at,
        }];
        seal(&mut append, &frontier, at);
        append
    };
    let mut tx = store.begin_append().await.expect("begin");
    let head = tx.lock_head().await.expect("head");
    tx.write(&annul(&head, NOW + 1)).await.expect("annul");
    tx.commit().await.expect("commit");

    let view = store
        .pledge_by_annulment_index(1)
        .await
        .expect("query")
        .expect("annulled pledge");
    assert_eq!(view.pledge_id, pledge_id);
    assert_eq!(view.annulled_at, Some(NOW + 1));
    assert_eq!(view.annul_category.as_deref(), Some("salah_orang"));
    assert_eq!(view.annul_text.as_deref(), Some("Dibatalkan"));
    assert_eq!(view.annul_log_index, Some(1));
    assert_eq!(
        context(store.as_ref(), &issued[0].1).await.revoked_at,
        Some(NOW + 1)
    );
    assert!(
        store
            .signatures_per_hour(campaign)
            .await
            .expect("hours")
            .is_empty()
    );

    let mut tx = store.begin_append().await.expect("begin");
    let head = tx.lock_head().await.expect("head");
    let err = tx.write(&annul(&head, NOW + 2)).await.expect_err("twice");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    drop(tx);
    assert_eq!(store.log_head().await.expect("head").size, 2);
}

#[tokio::test]
async fn store_compliance_counts_and_unsigned_staff() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let (instansi_id, campaign) = campaign_over(store.as_ref(), &["D1", "S1"]).await;
    let units = store.units(instansi_id).await.expect("units");
    let unit = |key: &str| units.iter().find(|u| u.key == key).expect("unit").id;
    let issued = store
        .issue_invitations(campaign, false, None, NOW, &token::mint)
        .await
        .expect("issue");
    assert_eq!(issued.len(), 5);
    let mut signed = Vec::new();
    for (t, token) in &issued {
        if t.number == "198909202022011971" || t.number == "TKPK/2022/00003" {
            signed.push(context(store.as_ref(), token).await);
        }
    }
    append(store.as_ref(), &signed.iter().collect::<Vec<_>>(), NOW).await;

    let mut counts: Vec<(i64, i64, i64)> = store
        .compliance_counts(campaign)
        .await
        .expect("counts")
        .iter()
        .map(|c| (c.unit_id, c.target, c.signed))
        .collect();
    counts.sort();
    let mut want = vec![(unit("D1"), 1, 0), (unit("B1"), 2, 1), (unit("S1"), 2, 1)];
    want.sort();
    assert_eq!(counts, want);

    let all = store
        .unsigned(campaign, None, 100, 0)
        .await
        .expect("unsigned");
    let names: Vec<&str> = all.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(
        names,
        ["Dewi Anggraini", "Bayu Purnomo", "Rina Wati"],
        "by unit, then name"
    );
    assert_eq!(all[0].unit, "Bidang TIK");
    assert_eq!(all[0].position.as_deref(), Some("Pranata Komputer"));
    let under_dinas = store
        .unsigned(campaign, Some(unit("D1")), 100, 0)
        .await
        .expect("subtree");
    assert_eq!(under_dinas.len(), 2, "the unit and its child unit");
    let page = store.unsigned(campaign, None, 1, 1).await.expect("page");
    assert_eq!(page[0].name, "Bayu Purnomo");
}

#[tokio::test]
async fn store_audit_events_newest_first_by_instansi() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let a = instansi(store.as_ref(), "a").await;
    let b = instansi(store.as_ref(), "b").await;
    for (i, who) in [Some(a), Some(b), None, Some(a), Some(a)]
        .iter()
        .enumerate()
    {
        store
            .audit(
                *who,
                "hr",
                "roster.import",
                &format!("event {i}"),
                NOW + i as i64,
            )
            .await
            .expect("audit");
    }
    let of_a = store
        .audit_events(Some(a), i64::MAX, 10)
        .await
        .expect("events");
    let summaries: Vec<&str> = of_a.iter().map(|e| e.summary.as_str()).collect();
    assert_eq!(summaries, ["event 4", "event 3", "event 0"]);
    assert!(
        of_a.iter()
            .all(|e| e.instansi_id == Some(a) && e.actor == "hr")
    );
    assert_eq!(of_a[0].at, NOW + 4);
    let older = store
        .audit_events(Some(a), of_a[1].id, 10)
        .await
        .expect("page");
    assert_eq!(older.len(), 1);
    assert_eq!(older[0].summary, "event 0");
    let everything = store.audit_events(None, i64::MAX, 4).await.expect("all");
    assert_eq!(everything.len(), 4, "limited");
    assert_eq!(everything[2].instansi_id, None);
    assert_eq!(everything[3].instansi_id, Some(b));
}

#[tokio::test]
async fn store_users_tokens_sessions_settings_and_keys() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let instansi_id = instansi(store.as_ref(), "a").await;
    let id = store
        .add_user(Some(instansi_id), "hr.a", Role::Hr, "$argon2id$x", NOW)
        .await
        .expect("user");
    let user = store
        .user_by_username("hr.a")
        .await
        .expect("query")
        .expect("user");
    assert_eq!((user.id, user.instansi_id), (id, Some(instansi_id)));
    assert_eq!(
        (user.role.as_str(), user.password_hash.as_str()),
        ("hr", "$argon2id$x")
    );
    assert!(
        store
            .user_by_username("hr.b")
            .await
            .expect("query")
            .is_none()
    );

    store.add_api_token(id, &[3; 32], NOW).await.expect("token");
    let by_token = store
        .user_by_api_token(&[3; 32])
        .await
        .expect("query")
        .expect("user");
    assert_eq!(by_token.username, "hr.a");
    assert!(
        store
            .user_by_api_token(&[4; 32])
            .await
            .expect("query")
            .is_none()
    );

    store
        .create_session(&[5; 32], id, "csrf-1", NOW, NOW + 60)
        .await
        .expect("session");
    let session = store
        .session(&[5; 32], NOW + 59)
        .await
        .expect("query")
        .expect("live");
    assert_eq!((session.id, session.csrf.as_str()), (id, "csrf-1"));
    assert_eq!(session.role, Role::Hr);
    assert!(
        store
            .session(&[5; 32], NOW + 60)
            .await
            .expect("query")
            .is_none(),
        "expired"
    );
    store.delete_session(&[5; 32]).await.expect("delete");
    assert!(store.session(&[5; 32], NOW).await.expect("query").is_none());

    assert_eq!(store.setting("uji").await.expect("query"), None);
    assert_eq!(
        store.init_setting("uji", "satu").await.expect("init"),
        "satu"
    );
    assert_eq!(
        store.init_setting("uji", "dua").await.expect("init"),
        "satu"
    );
    assert_eq!(
        store.setting("uji").await.expect("query").as_deref(),
        Some("satu")
    );

    let key = |id: u8, purpose: &str, not_before: i64| KeyRow {
        key_id: vec![id; 4],
        purpose: KeyPurpose::try_from(purpose.to_string()).expect("purpose"),
        name: format!("key {id}"),
        public_key: vec![id; 32],
        not_before,
        not_after: None,
    };
    store
        .publish_key(&key(1, "pledge", 100))
        .await
        .expect("publish");
    store
        .publish_key(&key(2, "log", 100))
        .await
        .expect("publish");
    store
        .publish_key(&key(3, "pledge", 200))
        .await
        .expect("publish");
    store
        .publish_key(&key(1, "pledge", 300))
        .await
        .expect("republish is a no-op");
    let keys: Vec<(u8, &str, i64, Option<i64>)> = store
        .keys()
        .await
        .expect("keys")
        .into_iter()
        .map(|k| (k.key_id[0], k.purpose.as_str(), k.not_before, k.not_after))
        .collect();
    assert_eq!(
        keys,
        [
            (2, "log", 100, None),
            (1, "pledge", 100, Some(200)),
            (3, "pledge", 200, None),
        ]
    );
}

#[tokio::test]
async fn store_lease_is_held_by_one_holder_until_it_expires() {
    let db = TestDb::new().await;
    let store = db.store().await;
    assert!(
        store
            .take_lease("witnessing", "a", NOW, NOW + 10)
            .await
            .expect("take")
    );
    assert!(
        !store
            .take_lease("witnessing", "b", NOW + 5, NOW + 15)
            .await
            .expect("refused")
    );
    // The holder renews; another name is another lease.
    assert!(
        store
            .take_lease("witnessing", "a", NOW + 9, NOW + 19)
            .await
            .expect("renew")
    );
    assert!(
        store
            .take_lease("other", "b", NOW + 9, NOW + 19)
            .await
            .expect("other")
    );
    assert!(
        !store
            .take_lease("witnessing", "b", NOW + 18, NOW + 28)
            .await
            .expect("held")
    );
    // Once it runs out, another instance takes it over, and the old holder is refused.
    assert!(
        store
            .take_lease("witnessing", "b", NOW + 20, NOW + 30)
            .await
            .expect("over")
    );
    assert!(
        !store
            .take_lease("witnessing", "a", NOW + 21, NOW + 31)
            .await
            .expect("lost")
    );
}

#[tokio::test]
async fn store_witness_progress_and_cosignatures() {
    let db = TestDb::new().await;
    let store = db.store().await;
    assert_eq!(store.witness_size("w+1+A").await.expect("none"), None);
    store.set_witness_size("w+1+A", 7, NOW).await.expect("set");
    assert_eq!(store.witness_size("w+1+A").await.expect("set"), Some(7));
    assert!(
        store
            .cosigned_checkpoints(8)
            .await
            .expect("none")
            .is_empty()
    );
    // Cosignatures belong to stored checkpoints: append two batches.
    let mut frontier = Frontier::empty();
    for batch in 0..2u64 {
        let mut tx = store.begin_append().await.expect("begin");
        let head = tx.lock_head().await.expect("head");
        let mut append = Append {
            old_size: head.size,
            old_root: head.root,
            entries: Vec::new(),
            nodes: Vec::new(),
            head: head.clone(),
            pledges: Vec::new(),
            annulments: Vec::new(),
        };
        for i in 0..3u64 {
            let record = vec![batch as u8, i as u8];
            let index = frontier.size();
            append.nodes.extend(frontier.push(leaf_hash(&record)));
            append.entries.push((index, record));
        }
        append.head = LogHead {
            size: frontier.size(),
            root: frontier.root(),
            frontier: frontier.to_bytes(),
            last_time: NOW,
            checkpoint: format!("note {}\n", frontier.size()),
        };
        tx.write(&append).await.expect("write");
        tx.commit().await.expect("commit");
    }
    store
        .add_cosignature("w+1+A", 3, "— w a", NOW, NOW)
        .await
        .expect("add");
    store
        .add_cosignature("w+1+A", 6, "— w b", NOW, NOW)
        .await
        .expect("add");
    store
        .add_cosignature("v+2+B", 6, "— v c", NOW, NOW)
        .await
        .expect("add");
    // A repeat of the same cosignature is kept once.
    store
        .add_cosignature("v+2+B", 6, "— v c", NOW, NOW)
        .await
        .expect("repeat");
    assert_eq!(store.witness_size("w+1+A").await.expect("moved"), Some(6));
    let got = store.cosigned_checkpoints(8).await.expect("two");
    assert_eq!(got.iter().map(|c| c.size).collect::<Vec<_>>(), vec![6, 3]);
    assert_eq!(got[0].note, "note 6\n");
    assert_eq!(
        got[0].lines,
        vec![
            ("v+2+B".to_string(), "— v c".to_string()),
            ("w+1+A".to_string(), "— w b".to_string())
        ]
    );
    assert_eq!(store.cosigned_checkpoints(1).await.expect("one").len(), 1);
}
