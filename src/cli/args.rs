//! The command line. `ikrar --help` and `ikrar <command> --help` are the configuration
//! reference; every option that an operator sets in production also reads an env variable.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "ikrar",
    version,
    about = "Signed civil-servant pledges with a transparency log"
)]
pub struct Cli {
    /// sqlite://FILE (created if missing) or postgres://… [default: sqlite://ikrar.db;
    /// sqlite://ikrar-demo.db with `serve --demo`]
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
#[allow(
    clippy::large_enum_variant,
    reason = "parsed once per process; boxing would only obscure the clap derive"
)]
pub enum Command {
    /// Run the HTTP server (applies migrations first).
    Serve(ServeArgs),
    /// Apply database migrations.
    Migrate,
    /// Make a new pledge key and log key (PKCS#8 PEM, .pub and .vkey files).
    Keygen(KeygenArgs),
    /// Manage instansi (tenants).
    #[command(subcommand)]
    Instansi(InstansiCommand),
    /// Import staff rosters.
    #[command(subcommand)]
    Roster(RosterCommand),
    /// Manage pledge templates.
    #[command(subcommand)]
    Template(TemplateCommand),
    /// Create and close campaigns.
    #[command(subcommand)]
    Campaign(CampaignCommand),
    /// Issue signing links for a campaign and write them to a CSV file.
    Invitations(InvitationsArgs),
    /// Remind a campaign's unsigned targets by email or WhatsApp, each with a fresh link.
    Remind(RemindArgs),
    /// Export reports.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Consistent online copy of a SQLite database.
    Backup {
        /// Where to write the copy (must not exist)
        file: PathBuf,
    },
    /// Sign every link of a links.csv once against a running server, as a ceremony would.
    Loadtest(LoadtestArgs),
    /// Run a witness that cosigns the checkpoints of transparency logs (c2sp.org/tlog-witness).
    #[command(subcommand)]
    Witness(WitnessCommand),
    /// Audit a log from its public checkpoint and tiles (and, with a log-auditor token, every
    /// entry); exit 0 when all holds, 1 naming the first failure, 2 when it could not check.
    Audit(AuditArgs),
    /// Write the in-browser verifier (/periksa) as one self-contained HTML file with the keys
    /// pinned, to host on another site or open from disk: it checks signatures with no ikrar
    /// server, and log proofs from the issuer when online.
    Verifier {
        /// The JSON of /api/v1/keys saved to a file, or the issuer's URL to fetch it from
        #[arg(long)]
        keys: String,
        /// Witness policy (c2sp.org/tlog-policy) whose quorum the page checks on log proofs
        #[arg(long)]
        policy: Option<PathBuf>,
        /// The zone dates are shown in: WIB, WITA or WIT (Asia/Jakarta, Asia/Makassar,
        /// Asia/Jayapura)
        #[arg(long, default_value = "WIB")]
        zone: String,
        /// Where to write the page
        #[arg(long)]
        out: PathBuf,
    },
    /// Check a QR text or a receipt PDF against trusted keys; exit 0 valid, 1 invalid.
    Verify {
        /// The QR text (https://HOST/V/…) or a receipt PDF file
        input: String,
        /// The JSON of /api/v1/keys saved to a file, or the server's URL (then the log
        /// inclusion proof is checked online too). A PDF's attached tlog-proof is always
        /// checked offline against the log key
        #[arg(long)]
        keys: String,
        /// Witness policy (c2sp.org/tlog-policy): the checkpoint of the log proof must be
        /// cosigned by its quorum
        #[arg(long)]
        policy: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum WitnessCommand {
    /// Make a witness key: witness.pem (PKCS#8) and witness.vkey (cosignature/v1 verifier key).
    Keygen {
        /// Directory to create and write the key into
        #[arg(long)]
        out: PathBuf,
        /// The witness's name, a schema-less URL, e.g. witness.bawaslu.go.id/jateng
        #[arg(long)]
        name: String,
        /// Overwrite existing files
        #[arg(long)]
        force: bool,
    },
    /// Serve POST /add-checkpoint and the status page (state in --database-url, SQLite
    /// only, default sqlite://witness.db; never the log server's database).
    Serve(WitnessServeArgs),
}

#[derive(Debug, Args)]
pub struct WitnessServeArgs {
    #[arg(long, env = "IKRAR_WITNESS_BIND", default_value = "127.0.0.1:8090")]
    pub bind: SocketAddr,
    /// PEM file of the witness key (from `ikrar witness keygen`, or `openssl genpkey
    /// -algorithm ed25519`)
    #[arg(long, env = "IKRAR_WITNESS_KEY")]
    pub key: PathBuf,
    /// The witness's name (the name its vkey was made with)
    #[arg(long, env = "IKRAR_WITNESS_NAME")]
    pub name: String,
    /// A watched log's verifier key (its name is the log's origin), or a file holding
    /// such lines, e.g. the log's log.vkey (repeatable)
    #[arg(
        long = "log",
        env = "IKRAR_WITNESS_LOG",
        value_delimiter = ',',
        required = true
    )]
    pub logs: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LoadtestArgs {
    /// Base URL of the server, e.g. http://127.0.0.1:8080
    #[arg(long)]
    pub url: String,
    /// CSV written by `ikrar invitations` (column `link`)
    #[arg(long, required_unless_present_any = ["slow_bodies", "stalled_lines"])]
    pub links: Option<PathBuf>,
    /// Requests in flight at once
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Stop after this many seconds even if links remain
    #[arg(long)]
    pub duration: Option<u64>,
    /// Also poll /log/checkpoint and report how long after its 201 each pledge was covered
    /// by the published (with a witness policy: cosigned) checkpoint
    #[arg(long)]
    pub watch_checkpoint: bool,
    /// Slow-client mode: connections that send a sign request's headers and half its body,
    /// then stall
    #[arg(long, default_value_t = 0)]
    pub slow_bodies: usize,
    /// Slow-client mode: connections that send half a request line, then stall
    #[arg(long, default_value_t = 0)]
    pub stalled_lines: usize,
    /// Slow-client mode: Content-Length of the slow bodies (half of it is sent)
    #[arg(long, default_value_t = 65536)]
    pub body_bytes: usize,
    /// Slow-client mode: seconds to hold the slow connections (they end sooner if the
    /// server closes them)
    #[arg(long, default_value_t = 40)]
    pub hold: u64,
    /// Slow-client mode: the server's process id, to sample its resident memory and open
    /// files from /proc
    #[arg(long)]
    pub server_pid: Option<u32>,
}

#[derive(Debug, Clone, Args)]
pub struct KeyArgs {
    /// PEM file of the pledge key (signs records)
    #[arg(long, env = "IKRAR_PLEDGE_KEY")]
    pub pledge_key: Option<PathBuf>,
    /// PEM file of the log key (signs checkpoints)
    #[arg(long, env = "IKRAR_LOG_KEY")]
    pub log_key: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[arg(long, env = "IKRAR_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Bare origin used in links and QR codes, e.g. https://ikrar.surakarta.go.id
    /// (default: http://BIND, allowed only for loopback addresses)
    #[arg(long, env = "IKRAR_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Demo instance: development keys from keys-example/, a demo instansi, 500 staff and an open campaign
    #[arg(long)]
    pub demo: bool,
    #[command(flatten)]
    pub keys: KeyArgs,
    /// File that keeps the latest checkpoint outside the database (rollback guard);
    /// default: beside a SQLite database, none for PostgreSQL
    #[arg(long, env = "IKRAR_CHECKPOINT_FILE")]
    pub checkpoint_file: Option<PathBuf>,
    /// Reverse proxies whose X-Forwarded-For is believed (repeatable)
    #[arg(long, env = "IKRAR_TRUSTED_PROXY", value_delimiter = ',')]
    pub trusted_proxy: Vec<IpAddr>,
    /// Witness policy (c2sp.org/tlog-policy): the witnesses to push checkpoints to, and the
    /// quorum that /log/checkpoint and proof bundles must meet
    #[arg(long, env = "IKRAR_WITNESS_POLICY")]
    pub witness_policy: Option<PathBuf>,
    /// NIP lookups per minute per client address (bursts of the same size)
    #[arg(long, env = "IKRAR_LOOKUP_LIMIT", default_value_t = 20)]
    pub lookup_limit: u32,
    /// Client networks (CIDR) that may read /metrics; others get 404 (repeatable or
    /// comma-separated; the client address as for rate limits, behind --trusted-proxy)
    #[arg(long, env = "IKRAR_METRICS_ALLOW", value_delimiter = ',', value_parser = network,
          default_values_t = crate::metrics::loopback_networks())]
    pub metrics_allow: Vec<ipnet::IpNet>,
    /// Connections open at once; more wait in the listen backlog until one closes
    #[arg(long, env = "IKRAR_MAX_CONNECTIONS", default_value_t = 8192)]
    pub max_connections: usize,
    /// Seconds a request's headers may take (SPEC 4.6: 10; for tests and benchmarks)
    #[arg(long, default_value_t = 10, hide = true)]
    pub header_timeout: u64,
    /// Seconds a request's body may take (SPEC 4.6: 30)
    #[arg(long, default_value_t = 30, hide = true)]
    pub body_timeout: u64,
    /// Seconds an idle keep-alive connection stays open (SPEC 4.6: 60)
    #[arg(long, default_value_t = 60, hide = true)]
    pub idle_timeout: u64,
    #[command(flatten)]
    pub smtp: SmtpArgs,
    #[command(flatten)]
    pub oidc: OidcArgs,
}

/// Sign-in with the government's SSO (OpenID Connect, SPEC 4.5); off without --oidc-issuer.
#[derive(Debug, Clone, Args)]
pub struct OidcArgs {
    /// The OIDC provider's issuer URL, e.g. https://sso-siasn.bkn.go.id/realms/asn (https://;
    /// http:// only on loopback). Its redirect URI is PUBLIC_URL/auth/oidc/callback
    #[arg(long, env = "IKRAR_OIDC_ISSUER", requires_all = ["oidc_client_id", "oidc_client_secret_file"])]
    pub oidc_issuer: Option<String>,
    /// This deployment's client id at the provider
    #[arg(long, env = "IKRAR_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,
    /// File holding the client secret (one line)
    #[arg(long, env = "IKRAR_OIDC_CLIENT_SECRET_FILE")]
    pub oidc_client_secret_file: Option<PathBuf>,
    /// The ID-token claim holding a signer's NIP
    #[arg(long, env = "IKRAR_OIDC_NIP_CLAIM", default_value = "nip")]
    pub oidc_nip_claim: String,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Directory to create and write the keys into
    #[arg(long)]
    pub out: PathBuf,
    /// Overwrite existing key files
    #[arg(long)]
    pub force: bool,
    /// Public URL whose HOST names the keys in the .vkey files
    #[arg(
        long,
        env = "IKRAR_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub public_url: String,
}

#[derive(Debug, Subcommand)]
pub enum InstansiCommand {
    /// Add an instansi
    Add {
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        /// Place printed on the PDF, e.g. Surakarta
        #[arg(long)]
        place: String,
        #[arg(long, default_value = "Asia/Jakarta")]
        tz: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RosterCommand {
    /// Import a roster CSV (all-or-nothing; bad rows are named by line, the header is line 1)
    Import {
        #[arg(long)]
        instansi: String,
        file: PathBuf,
        /// Check the file and report, without importing
        #[arg(long)]
        dry_run: bool,
        /// Deactivate staff of the instansi who are not in the file
        #[arg(long)]
        deactivate_missing: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Add a template version from a TOML file; prints its template_no
    Add { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum CampaignCommand {
    /// Create a campaign; prints its id alone
    Create {
        #[arg(long)]
        instansi: String,
        /// code@version, e.g. ikrar-netralitas-2024@1
        #[arg(long)]
        template: String,
        #[arg(long)]
        title: String,
        /// Place printed on the PDF
        #[arg(long)]
        place: String,
        /// RFC 3339, e.g. 2026-11-29T07:00:00+07:00
        #[arg(long)]
        opens: String,
        #[arg(long)]
        closes: String,
        /// Target unit keys or names (default: all units)
        #[arg(long, value_delimiter = ',')]
        units: Vec<String>,
        /// Do not ask for a drawn signature
        #[arg(long)]
        no_mark: bool,
        /// Enable the public ceremony screen
        #[arg(long)]
        screen: bool,
        /// Show the campaign's per-unit counts on the public transparency page
        #[arg(long)]
        public: bool,
    },
    /// Change a campaign that has not closed; options left out keep their value
    Edit {
        #[arg(long)]
        campaign: i64,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        place: Option<String>,
        /// RFC 3339
        #[arg(long)]
        closes: Option<String>,
        /// Target unit keys or names; `--units ''` targets the whole instansi
        #[arg(long, value_delimiter = ',')]
        units: Option<Vec<String>>,
        /// Turn the ceremony screen on or off
        #[arg(long)]
        screen: Option<bool>,
        /// Turn the public transparency page on or off
        #[arg(long)]
        public: Option<bool>,
    },
    /// Close a campaign: no more signing; receipts stay visible
    Close {
        #[arg(long)]
        campaign: i64,
    },
    /// List an instansi's campaigns: id, state, title
    List {
        #[arg(long)]
        instansi: String,
    },
}

#[derive(Debug, Args)]
pub struct InvitationsArgs {
    #[arg(long)]
    pub campaign: i64,
    /// CSV to write: nip,nama,unit,link
    #[arg(long)]
    pub out: PathBuf,
    /// Revoke and reissue for every unsigned target
    #[arg(long)]
    pub reissue: bool,
    /// Only this person (NIP or staff number)
    #[arg(long)]
    pub nip: Option<String>,
    /// Also write printable QR slips (8 per A4 page) for the issued links
    #[arg(long)]
    pub slips: Option<PathBuf>,
    /// Public URL for links when no server has stored one yet
    #[arg(long, env = "IKRAR_PUBLIC_URL")]
    pub public_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add an account; the password comes from IKRAR_PASSWORD or a prompt
    Add {
        /// Required for admin, hr and auditor; not allowed for superadmin and log-auditor
        #[arg(long)]
        instansi: Option<String>,
        #[arg(long)]
        username: String,
        /// superadmin | admin | hr | auditor | log-auditor
        #[arg(long)]
        role: String,
    },
    /// Link an account to the OIDC subject (`sub`) it signs in with through SSO
    LinkOidc {
        #[arg(long)]
        username: String,
        /// The subject identifier the provider gives this person
        #[arg(long)]
        subject: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for an account; prints the bearer token alone (shown once)
    Create {
        #[arg(long)]
        instansi: Option<String>,
        #[arg(long)]
        username: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Compliance per unit (target, signed, rate, rolled up) and the unsigned list
    Compliance {
        #[arg(long)]
        campaign: i64,
        /// csv | csv-excel (`;` and decimal commas, for Excel set to Indonesian) | xlsx
        #[arg(long, default_value = "xlsx")]
        format: String,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The log server's public URL, e.g. https://ikrar.surakarta.go.id
    #[arg(long)]
    pub url: String,
    /// What earlier runs saw (size, root, pinned log key); created on the first run
    /// [default: <host>.audit-state, or <host>_<port>.audit-state, in the working directory]
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Trusted keys: the JSON of /api/v1/keys saved to a file, or a URL whose /api/v1/keys
    /// is fetched [default: the log key pinned in the state file, else the URL's keys]
    #[arg(long)]
    pub keys: Option<String>,
    /// A log-auditor API token: every entry is checked too
    #[arg(long, env = "IKRAR_AUDIT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Witness policy (c2sp.org/tlog-policy): the checkpoint must be cosigned by its quorum
    #[arg(long)]
    pub policy: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct SmtpArgs {
    /// SMTP server for reminder emails: smtp://host:port (STARTTLS when the server offers
    /// it; add ?tls=required to insist) or smtps://host:port (implicit TLS); user:pass@
    /// when it needs a login
    #[arg(long, env = "IKRAR_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Sender of reminder emails, e.g. "BKPSDM Surakarta <noreply@bkpsdm.surakarta.go.id>"
    #[arg(long, env = "IKRAR_SMTP_FROM")]
    pub smtp_from: Option<String>,
}

#[derive(Debug, Args)]
pub struct RemindArgs {
    #[arg(long)]
    pub campaign: i64,
    /// email | whatsapp
    #[arg(long)]
    pub channel: String,
    /// Only this unit (key or name) and the units under it
    #[arg(long)]
    pub unit: Option<String>,
    /// Only this person (NIP or staff number)
    #[arg(long)]
    pub nip: Option<String>,
    /// WhatsApp: the CSV to write (nip,nama,unit,telepon,wa_link)
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub smtp: SmtpArgs,
    /// Public URL for links when no server has stored one yet
    #[arg(long, env = "IKRAR_PUBLIC_URL")]
    pub public_url: Option<String>,
}

/// A network in CIDR notation, or one address (as a /32 or /128).
fn network(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("'{s}' is not a network (e.g. 10.20.0.0/16) or an address"))
}

#[cfg(test)]
mod tests {
    use super::network;

    #[test]
    fn reads_networks_and_single_addresses() {
        assert_eq!(
            network("10.20.0.0/16").expect("cidr").to_string(),
            "10.20.0.0/16"
        );
        assert_eq!(
            network(" 192.0.2.7 ").expect("ip").to_string(),
            "192.0.2.7/32"
        );
        assert_eq!(network("::1").expect("ip").to_string(), "::1/128");
        assert!(network("bogus").is_err());
    }
}
