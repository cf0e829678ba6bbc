//! What the dashboard draws, as text snapshots over ratatui's TestBackend: the seed cluster at
//! two sizes, filtered, with help open, one namespace forbidden, reconnecting, an empty user
//! namespace, and a terminal too small to use.
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common;

use common::screen::{app, draw};
use hasura_tui::app::{Action, Effect, ShellRequest};
use hasura_tui::cluster::{RouteSources, SectionView, Snapshot, WatchState};
use hasura_tui::forward::{
    ForwardKey, ForwardState, ForwardStatus, ForwardView, GatewayIdentity, RequestEntry, StatsView,
};
use hasura_tui::model::{
    Microservice, PerSection, RouteEntry, Routes, Section, ServicePortInfo, Status, TargetPort,
    UrlSource, WorkloadKind,
};

fn microservice(section: Section, name: &str, status: Status, external: bool) -> Microservice {
    let namespace = match section {
        Section::Custom => "default",
        Section::Hasura => "hasura",
    };
    Microservice {
        name: name.to_string(),
        namespace: namespace.to_string(),
        section,
        workload_kind: Some(WorkloadKind::Deployment),
        ready: if status == Status::Running { 1 } else { 0 },
        desired: if status == Status::Stopped { 0 } else { 1 },
        status,
        internal_url: Some(format!("{name}.{namespace}")),
        external_url: external.then(|| format!("http://{name}.gram29.hasura-app.io")),
        external_source: external.then_some(UrlSource::Gateway),
        usage: None,
        ports: vec![ServicePortInfo {
            name: Some("http".into()),
            port: 80,
            target: TargetPort::Name("http".into()),
            protocol: "TCP".into(),
        }],
        created: None,
        selector: [("app", name)].into_iter().collect(),
    }
}

fn seed_rows() -> (Vec<Microservice>, Vec<Microservice>) {
    let custom = vec![microservice(
        Section::Custom,
        "my-app",
        Status::Running,
        true,
    )];
    let hasura = [
        ("auth", true),
        ("data", true),
        ("filestore", true),
        ("gateway", false),
        ("le-agent", false),
        ("notify", true),
        ("platform-sync", false),
        ("postgres", false),
        ("session-redis", false),
        ("sshd", false),
    ]
    .into_iter()
    .map(|(name, external)| microservice(Section::Hasura, name, Status::Running, external))
    .map(|mut m| {
        if m.name == "gateway" {
            m.ports.push(ServicePortInfo {
                name: Some("https".into()),
                port: 443,
                target: TargetPort::Name("https".into()),
                protocol: "TCP".into(),
            });
        }
        m
    })
    .collect();
    (custom, hasura)
}

fn section(
    section: Section,
    rows: Vec<Microservice>,
    state: WatchState,
    stale: bool,
) -> SectionView {
    SectionView {
        section,
        namespace: match section {
            Section::Custom => "default".into(),
            Section::Hasura => "hasura".into(),
        },
        rows: hasura_tui::cluster::rows(rows),
        state,
        stale,
        notes: Vec::new(),
        metrics: Default::default(),
    }
}

fn snapshot(custom: SectionView, hasura: SectionView) -> Arc<Snapshot> {
    // The gateway route each external URL came from, as the seed's routes.yaml writes them.
    let entries = [&custom, &hasura]
        .iter()
        .flat_map(|s| s.rows.iter())
        .filter(|m| m.external_url.is_some())
        .map(|m| RouteEntry {
            subdomain: m.name.clone(),
            path_prefix: "/".into(),
            service: m.name.clone(),
            namespace: m.namespace.clone(),
            port: Some(80),
            upstream_path: Some("/".into()),
        })
        .collect();
    let route_sources = RouteSources {
        gateway: Some(Arc::new(Routes {
            entries,
            domain: "gram29.hasura-app.io".into(),
        })),
        ingresses: Default::default(),
    };
    Arc::new(Snapshot {
        sections: PerSection { custom, hasura },
        routes_error: None,
        routes_listed: true,
        route_sources,
        cluster_name: "gram29".into(),
        resource_version: 1,
        generation: 1,
    })
}

fn seed() -> Arc<Snapshot> {
    let (custom, hasura) = seed_rows();
    snapshot(
        section(Section::Custom, custom, WatchState::Synced, false),
        section(Section::Hasura, hasura, WatchState::Synced, false),
    )
}

#[test]
fn seed_cluster_at_120x30() {
    insta::assert_snapshot!(draw(&app(seed(), 120, 30, Instant::now())));
}

/// Both namespaces listed but the gateway's routes not yet: EXTERNAL-URLs may still be missing,
/// so the header does not say synced (an e2e test once saw `synced` without them, under load).
#[test]
fn not_synced_until_the_routes_are_listed() {
    let mut early = (*seed()).clone();
    early.routes_listed = false;
    let screen = draw(&app(Arc::new(early), 120, 30, Instant::now()));
    let header = screen.lines().next().unwrap();
    assert!(
        header.contains("syncing") && !header.contains("synced"),
        "{header}"
    );
    let screen = draw(&app(seed(), 120, 30, Instant::now()));
    assert!(
        screen.lines().next().unwrap().contains(" synced "),
        "{screen}"
    );
}

#[test]
fn seed_cluster_at_60x20_drops_columns_before_names() {
    let screen = draw(&app(seed(), 60, 20, Instant::now()));
    assert!(
        screen.contains("platform-sync"),
        "names are never cut first"
    );
    assert!(!screen.contains("EXTERNAL-URL"));
    insta::assert_snapshot!(screen);
}

#[test]
fn filtered_by_name() {
    let mut app = app(seed(), 120, 30, Instant::now());
    for action in [
        Action::StartFilter,
        Action::FilterInput('s'),
        Action::FilterInput('e'),
    ] {
        app.update(action);
    }
    insta::assert_snapshot!(draw(&app));
}

#[test]
fn help_open() {
    let mut app = app(seed(), 120, 30, Instant::now());
    app.update(Action::ToggleHelp);
    insta::assert_snapshot!(draw(&app));
}

/// Every line of the key table is in the help: whole on a 24-line terminal, and reached by
/// scrolling on a shorter one.
#[test]
fn help_fits_24_lines_and_scrolls_on_fewer() {
    let labels = || hasura_tui::app::keys::TABLE_KEYS.iter().map(|b| b.help);
    let mut app = app(seed(), 120, 24, Instant::now());
    app.update(Action::ToggleHelp);
    let screen = draw(&app);
    for help in labels() {
        assert!(
            screen.contains(help),
            "{help:?} missing at 120x24:\n{screen}"
        );
    }
    assert!(screen.contains(" keys (Esc closes) "), "{screen}");

    let mut app = hasura_tui::app::App::new(
        app.connection.clone(),
        app.snapshot.clone(),
        (120, 12),
        Instant::now(),
    );
    app.update(Action::ToggleHelp);
    let total = hasura_tui::app::keys::TABLE_KEYS.len();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..total {
        let screen = draw(&app);
        seen.extend(labels().filter(|help| screen.contains(*help)));
        app.update(Action::HelpScroll(1));
    }
    assert_eq!(seen.len(), total, "not every line was reached by scrolling");
    let screen = draw(&app);
    assert!(
        screen.contains(&format!(
            " keys 13-{total} of {total} (j k scroll, Esc closes) "
        )),
        "{screen}"
    );
    assert!(
        !app.update(Action::HelpScroll(1)),
        "no further than the last line"
    );
}

#[test]
fn one_namespace_forbidden() {
    let (custom, _) = seed_rows();
    let forbidden = WatchState::Forbidden("forbidden: pods is forbidden: User \"demo\" cannot list resource \"pods\" in the namespace \"hasura\"".into());
    let s = snapshot(
        section(Section::Custom, custom, WatchState::Synced, false),
        section(Section::Hasura, vec![], forbidden, false),
    );
    insta::assert_snapshot!(draw(&app(s, 120, 30, Instant::now())));
}

#[test]
fn reconnecting_with_stale_rows() {
    let now = Instant::now();
    let state = WatchState::Reconnecting {
        since: now - Duration::from_secs(7),
        reason: "Connection refused (os error 111)".into(),
    };
    let (custom, hasura) = seed_rows();
    let s = snapshot(
        section(Section::Custom, custom, state.clone(), true),
        section(Section::Hasura, hasura, state, true),
    );
    insta::assert_snapshot!(draw(&app(s, 120, 30, now)));
}

#[test]
fn empty_user_namespace() {
    let (_, hasura) = seed_rows();
    let s = snapshot(
        section(Section::Custom, vec![], WatchState::Synced, false),
        section(Section::Hasura, hasura, WatchState::Synced, false),
    );
    insta::assert_snapshot!(draw(&app(s, 120, 30, Instant::now())));
}

#[test]
fn statuses_read_without_colour() {
    let rows = vec![
        microservice(
            Section::Custom,
            "a-crashing",
            Status::Error("CrashLoopBackOff".into()),
            false,
        ),
        microservice(
            Section::Custom,
            "b-creating",
            Status::Waiting("ContainerCreating".into()),
            false,
        ),
        microservice(Section::Custom, "c-stopped", Status::Stopped, false),
        microservice(Section::Custom, "d-orphan-svc", Status::NoWorkload, false),
    ];
    let (_, hasura) = seed_rows();
    let s = snapshot(
        section(Section::Custom, rows, WatchState::Synced, false),
        section(Section::Hasura, hasura, WatchState::Synced, false),
    );
    insta::assert_snapshot!(draw(&app(s, 100, 24, Instant::now())));
}

#[test]
fn a_tiny_terminal_says_so() {
    insta::assert_snapshot!(draw(&app(seed(), 30, 8, Instant::now())));
}

#[test]
fn twenty_thousand_rows_draw_only_the_rows_in_view() {
    let rows: Vec<Microservice> = (0..20_000)
        .map(|i| {
            microservice(
                Section::Custom,
                &format!("svc-{i:05}"),
                Status::Running,
                false,
            )
        })
        .collect();
    let (_, hasura) = seed_rows();
    let s = snapshot(
        section(Section::Custom, rows, WatchState::Synced, false),
        section(Section::Hasura, hasura, WatchState::Synced, false),
    );
    let mut app = app(s, 120, 30, Instant::now());
    app.update(Action::Bottom);
    let screen = draw(&app);
    assert!(
        screen.contains("svc-19999"),
        "scrolled to the last row:\n{screen}"
    );
    assert!(!screen.contains("svc-00000"));
    assert!(screen.contains("Custom microservices (20000)"));
}

#[test]
fn forwards_in_the_table_and_the_forward_dialog() {
    let mut app = app(seed(), 140, 30, Instant::now());
    let mut forwards = std::collections::BTreeMap::new();
    forwards.insert(
        ForwardKey::new("hasura", "data"),
        forward_view(
            ForwardState::Active,
            Some(8080),
            StatsView {
                sent: 12 * 1024,
                received: 3 * 1024 * 1024,
                open: 2,
                total: 5,
            },
        ),
    );
    forwards.insert(
        ForwardKey::new("hasura", "postgres"),
        forward_view(
            ForwardState::Error("port 5432 in use".into()),
            None,
            StatsView::default(),
        ),
    );
    forwards.insert(
        ForwardKey::new("default", "my-app"),
        forward_view(ForwardState::NoReadyPods, Some(8082), StatsView::default()),
    );
    forwards.insert(
        ForwardKey::new("hasura", "auth"),
        ForwardView {
            gateway: Some(GatewayIdentity::admin()),
            ..forward_view(ForwardState::Active, Some(8081), StatsView::default())
        },
    );
    app.update(Action::Forwards(forwards));
    let table = draw(&app);
    assert!(table.contains(":8080 ▲12K ▼3.0M"), "{table}");
    assert!(table.contains(":8081 admin ▲0 ▼0"), "{table}");
    assert!(table.contains("4 forwards"), "{table}");
    insta::assert_snapshot!("forwards_table", table);

    app.update(Action::SwitchTable);
    app.update(Action::Move(3));
    app.update(Action::OpenForwardDialog);
    app.update(Action::DialogMove(2));
    for _ in 0..9 {
        app.update(Action::DialogBackspace);
    }
    for c in "0.0.0.0".chars() {
        app.update(Action::DialogInput(c));
    }
    app.update(Action::DialogMove(-2));
    for c in "99999".chars() {
        app.update(Action::DialogInput(c));
    }
    app.update(Action::DialogSubmit);
    let dialog = draw(&app);
    assert!(
        dialog.contains("forward gateway.hasura") && dialog.contains("80->http, 443->https"),
        "{dialog}"
    );
    assert!(dialog.contains("local port must be 1 to 65535"), "{dialog}");
    assert!(dialog.contains("reachable from other machines"), "{dialog}");
    insta::assert_snapshot!("forward_dialog", dialog);
}

/// The seed cluster with three forwards (one with traffic, one as admin, one without ready pods),
/// at the widths terminals commonly have: the seed's columns and FORWARD share the width, the
/// header marks what it cuts, and the footer keeps `? help`.
#[test]
fn seed_cluster_with_three_forwards_at_common_widths() {
    let mut forwards = std::collections::BTreeMap::new();
    forwards.insert(
        ForwardKey::new("hasura", "data"),
        forward_view(
            ForwardState::Active,
            Some(8080),
            StatsView {
                sent: 12 * 1024,
                received: 3 * 1024 * 1024,
                open: 2,
                total: 5,
            },
        ),
    );
    forwards.insert(
        ForwardKey::new("hasura", "auth"),
        ForwardView {
            gateway: Some(GatewayIdentity::anonymous()),
            ..forward_view(ForwardState::Active, Some(8081), StatsView::default())
        },
    );
    forwards.insert(
        ForwardKey::new("default", "my-app"),
        forward_view(ForwardState::NoReadyPods, Some(8082), StatsView::default()),
    );
    for width in [80, 100, 120, 160] {
        let mut app = app(seed(), width, 24, Instant::now());
        app.connection.server = "https://127.0.0.1:44697".into();
        app.update(Action::Forwards(forwards.clone()));
        let screen = draw(&app);
        let lines: Vec<&str> = screen.lines().collect();
        let header = lines[0];
        assert!(
            header.contains("https://127.0.0.1:44697") || !header.contains("server"),
            "the server address is whole or absent, never cut into another address:\n{header}"
        );
        let footer = lines[lines.len() - 1];
        assert!(footer.contains("? help"), "{width}: {footer}");
        // Both tables' column headers (each table fits its own rows).
        let column_headers: Vec<&str> = lines
            .iter()
            .filter(|l| l.starts_with("\"NAME "))
            .copied()
            .collect();
        assert_eq!(column_headers.len(), 2, "{screen}");
        if width >= 120 {
            for columns in &column_headers {
                for column in ["NAME", "STATUS", "INTERNAL-URL", "EXTERNAL-URL", "FORWARD"] {
                    assert!(
                        columns.contains(column),
                        "{width}: {column} missing:\n{screen}"
                    );
                }
            }
            assert!(screen.contains(":8080 ▲12K ▼3.0M"), "{width}:\n{screen}");
            assert!(screen.contains(":8081 anon ▲0 ▼0"), "{width}:\n{screen}");
            assert!(
                screen.contains("http://filestore.gram29.hasura-app.io"),
                "{width}:\n{screen}"
            );
        } else {
            for columns in &column_headers {
                assert!(columns.contains("FORWARD"), "{width}:\n{screen}");
            }
        }
        insta::assert_snapshot!(format!("seed_with_three_forwards_at_{width}"), screen);
    }
}

fn forward_view(state: ForwardState, port: Option<u16>, stats: StatsView) -> ForwardView {
    ForwardView {
        status: ForwardStatus {
            state,
            local: port.map(|p| ([127, 0, 0, 1], p).into()),
            remote_port: Some(8080),
            exposed: false,
            http: Some(true),
            transport: None,
        },
        stats,
        gateway: None,
        requests: 0,
    }
}

#[test]
fn request_log_pane_and_gateway_notices() {
    let mut app = app(seed(), 120, 30, Instant::now());
    app.update(Action::SwitchTable);
    app.update(Action::Move(1));
    app.update(Action::CycleGateway);
    assert_eq!(
        app.flash.as_ref().map(|f| f.text.as_str()),
        Some("data is not forwarded: press f first")
    );
    assert!(draw(&app).contains("data is not forwarded: press f first"));

    let key = ForwardKey::new("hasura", "data");
    let mut forwards = std::collections::BTreeMap::new();
    forwards.insert(
        key.clone(),
        ForwardView {
            gateway: Some(GatewayIdentity::anonymous()),
            requests: 3,
            ..forward_view(ForwardState::Active, Some(8080), StatsView::default())
        },
    );
    app.update(Action::Forwards(forwards.clone()));
    app.update(Action::CycleGateway);
    assert_eq!(
        app.effects.pop(),
        Some(Effect::SetGateway(
            key.clone(),
            Some(GatewayIdentity::admin())
        ))
    );

    app.update(Action::ToggleRequestLog);
    let entry = |seq, method: &str, path: &str, status, ms, bytes, role: &str| RequestEntry {
        seq,
        method: method.into(),
        path: path.into(),
        status,
        duration: Duration::from_micros(ms),
        bytes,
        role: Some(role.into()),
        complete: true,
        note: None,
        at: std::time::SystemTime::UNIX_EPOCH,
        user_id: Some("0".into()),
        replay_of: None,
        exchange: None,
    };
    app.update(Action::Requests(
        vec![
            entry(1, "GET", "/v1/version", Some(200), 800, 183, "anonymous"),
            RequestEntry {
                note: Some("client's X-Hasura-Role: admin replaced".into()),
                ..entry(2, "POST", "/v1/query", Some(403), 12_000, 96, "anonymous")
            },
            entry(3, "GET", "/v1/slow", None, 3_200_000, 0, "anonymous"),
        ],
        3,
    ));
    let pane = draw(&app);
    assert!(pane.contains("requests: data.hasura"), "{pane}");
    assert!(pane.contains("as anonymous (user id 0)"), "{pane}");
    let newest = pane.find("/v1/slow").expect("newest request shown");
    let oldest = pane.find("/v1/version").expect("oldest request shown");
    assert!(newest < oldest, "newest first:\n{pane}");
    assert!(
        pane.contains("client's X-Hasura-Role: admin replaced"),
        "a replaced header is marked:\n{pane}"
    );
    insta::assert_snapshot!("request_log", pane);

    app.update(Action::ToggleRequestLog);
    assert!(app.request_log.is_none());

    // A non-HTTP forward refuses gateway mode before anything is asked of the forward.
    let mut postgres = forward_view(ForwardState::Active, Some(6432), StatsView::default());
    postgres.status.http = Some(false);
    forwards.insert(ForwardKey::new("hasura", "postgres"), postgres);
    app.update(Action::Forwards(forwards));
    app.update(Action::Bottom);
    app.update(Action::Move(-2));
    assert_eq!(app.selected().map(|m| m.name.as_str()), Some("postgres"));
    app.update(Action::CycleGateway);
    assert!(app.effects.is_empty());
    assert_eq!(
        app.flash.as_ref().map(|f| f.text.as_str()),
        Some("postgres.hasura is not an HTTP service: gateway headers need HTTP")
    );
}

#[test]
fn s_asks_for_a_shell_and_the_pod_picker_picks_one() {
    let mut app = app(seed(), 120, 30, Instant::now());
    app.update(Action::SwitchTable);
    app.update(Action::Move(1));
    assert_eq!(app.selected().map(|m| m.name.as_str()), Some("data"));
    app.update(Action::Shell);
    let request = ShellRequest {
        namespace: "hasura".into(),
        name: "data".into(),
        pod: None,
    };
    assert_eq!(app.effects, vec![Effect::Shell(request.clone())]);
    app.effects.clear();

    let pods = vec!["data-5d9c7b-a1".to_string(), "data-5d9c7b-b2".to_string()];
    app.update(Action::PickPod(request.clone(), pods));
    app.update(Action::PickerMove(1));
    insta::assert_snapshot!("pod_picker", draw(&app));
    app.update(Action::PickerSubmit);
    assert!(app.pod_picker.is_none());
    assert_eq!(
        app.effects,
        vec![Effect::Shell(ShellRequest {
            pod: Some("data-5d9c7b-b2".into()),
            ..request
        })]
    );
}

#[test]
fn read_only_turns_s_r_and_s_off_and_help_says_so() {
    let mut app = app(seed(), 120, 30, Instant::now());
    app.read_only = true;
    app.update(Action::SwitchTable);
    for (action, word) in [
        (Action::Shell, "shell"),
        (Action::Restart, "restart"),
        (Action::Scale, "scale"),
    ] {
        app.update(action);
        let flash = app
            .flash
            .as_ref()
            .map(|f| f.text.clone())
            .unwrap_or_default();
        assert!(
            flash.starts_with(&format!("read-only mode: {word} is off")),
            "{flash}"
        );
    }
    assert!(app.effects.is_empty() && app.prompt.is_none());
    app.update(Action::ToggleHelp);
    let help = draw(&app);
    for key in ["s ", "R ", "S "] {
        let line = help
            .lines()
            .find(|l| l.contains(&format!("│ {key}")))
            .unwrap_or_else(|| panic!("{key} in help:\n{help}"));
        assert!(line.contains("(off: read-only)"), "{line}");
    }
}

mod detail_view {
    use super::*;
    use hasura_tui::app::App;
    use hasura_tui::detail::live::Seed;
    use hasura_tui::detail::{
        Detail, EventLine, Part, PodLine, PortLine, Termination, WorkloadLine,
    };
    use hasura_tui::metrics::Usage;
    use k8s_openapi::jiff::{SignedDuration, Timestamp};

    /// `secs` before the app's fixed wall clock, so ages print the same on every run.
    fn ago(app: &App, secs: i64) -> Option<Timestamp> {
        app.wall_clock
            .1
            .checked_sub(SignedDuration::from_secs(secs))
            .ok()
    }

    /// The seed at 120x40 with data's detail open.
    fn opened() -> App {
        let mut app = app(seed(), 120, 40, Instant::now());
        app.update(Action::SwitchTable);
        app.update(Action::Move(1));
        app.update(Action::OpenDetail);
        assert_eq!(
            app.effects,
            vec![Effect::StartDetail(Seed {
                namespace: "hasura".into(),
                name: "data".into(),
                kind: Some(WorkloadKind::Deployment),
                // The table's selector, so the pods' watch starts with the others.
                selector: Some("app=data".into()),
                ports: app.selected().unwrap().ports.clone(),
            })]
        );
        app
    }

    fn workload(app: &App, desired: i32, ready: i32) -> WorkloadLine {
        WorkloadLine {
            kind: "Deployment".into(),
            desired,
            updated: desired,
            ready,
            available: ready,
            images: vec!["hasura/data:v0.15.3".into()],
            created: ago(app, 3 * 3600),
            conditions: Vec::new(),
            rolled_out: ready == desired,
        }
    }

    fn pod(app: &App, name: &str, status: &str, ready: u32) -> PodLine {
        PodLine {
            name: name.into(),
            ready,
            containers: 1,
            status: status.into(),
            restarts: 0,
            last_restart: None,
            created: ago(app, 2 * 3600),
            node: Some("demo-node-1".into()),
            ip: Some("10.244.0.7".into()),
            terminating: status == "Terminating",
            last_termination: None,
            usage: None,
        }
    }

    /// `seen`: how many times, seconds since the first, seconds since the last.
    fn event(
        app: &App,
        warning: bool,
        reason: &str,
        object: &str,
        message: &str,
        seen: (i32, i64, i64),
    ) -> EventLine {
        EventLine {
            warning,
            reason: reason.into(),
            object: object.into(),
            message: message.into(),
            count: seen.0,
            first: ago(app, seen.1),
            last: ago(app, seen.2),
            source: if object.starts_with("Pod/") {
                "kubelet"
            } else {
                "deployment-controller"
            }
            .into(),
        }
    }

    fn port(ready: &[&str], terminating: &[&str]) -> PortLine {
        PortLine {
            name: Some("http".into()),
            port: 80,
            target: "http".into(),
            container_port: Some(8080),
            ready: ready.iter().map(|s| s.to_string()).collect(),
            not_ready: Vec::new(),
            terminating: terminating.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn show(app: &mut App, detail: Detail) -> String {
        app.update(Action::Detail(Box::new(detail)));
        draw(app)
    }

    fn base(app: &App) -> Detail {
        let mut detail = Detail::loading("hasura", "data");
        detail.workload = Part::Ready(Some(workload(app, 1, 1)));
        detail.pods = Part::Ready(vec![pod(app, "data-5d9c7b-x2k4q", "Running", 1)]);
        detail.events = Part::Ready(Vec::new());
        detail.ports = vec![port(&["data-5d9c7b-x2k4q"], &[])];
        detail
    }

    #[test]
    fn healthy_with_a_forward_and_traffic() {
        let mut app = opened();
        let stats = StatsView {
            sent: 40_000,
            received: 1_200_000,
            open: 2,
            total: 31,
        };
        let mut forwards = std::collections::BTreeMap::new();
        forwards.insert(
            ForwardKey::new("hasura", "data"),
            forward_view(ForwardState::Active, Some(8080), stats),
        );
        app.update(Action::Forwards(forwards));
        let mut detail = base(&app);
        if let Part::Ready(pods) = &mut detail.pods {
            pods[0].usage = Some(Usage {
                cpu_millis: 37,
                memory_bytes: 49 * 1024 * 1024,
                containers: vec![
                    ("data".into(), 36, 25 * 1024 * 1024),
                    ("istio-proxy".into(), 1, 24 * 1024 * 1024),
                ],
            });
        }
        detail.events = Part::Ready(vec![event(
            &app,
            false,
            "ScalingReplicaSet",
            "Deployment/data",
            "Scaled up replica set data-5d9c7b from 0 to 1",
            (1, 7200, 7200),
        )]);
        let pane = app.detail.as_mut().unwrap();
        for second in 0..60u64 {
            pane.traffic
                .push_back((second * 100, (60 - second) * 2_000));
        }
        let screen = show(&mut app, detail);
        assert!(screen.contains("forward  127.0.0.1:8080"), "{screen}");
        assert!(
            screen.contains("external http://data.gram29.hasura-app.io"),
            "{screen}"
        );
        insta::assert_snapshot!("detail_healthy_forwarded", screen);
        // Idle: with no forward, nothing asks for a tick.
        app.update(Action::Forwards(Default::default()));
        assert!(!app.needs_ticks());
    }

    #[test]
    fn crash_loop_with_its_last_termination_and_backoff_events() {
        let mut app = opened();
        let mut detail = base(&app);
        let mut crashing = pod(&app, "data-5d9c7b-x2k4q", "CrashLoopBackOff", 0);
        crashing.restarts = 12;
        crashing.last_restart = ago(&app, 40);
        crashing.last_termination = Some(Termination {
            container: "data".into(),
            reason: "Error".into(),
            exit_code: 1,
            finished: ago(&app, 40),
            message: Some("fatal: cannot reach postgres.hasura:5432: connection refused".into()),
        });
        detail.workload = Part::Ready(Some(WorkloadLine {
            conditions: vec!["Available=False (MinimumReplicasUnavailable): Deployment does not have minimum availability.".into()],
            ..workload(&app, 1, 0)
        }));
        detail.pods = Part::Ready(vec![crashing]);
        detail.ports = vec![PortLine {
            ready: vec![],
            not_ready: vec!["data-5d9c7b-x2k4q".into()],
            ..port(&[], &[])
        }];
        detail.events = Part::Ready(vec![
            event(
                &app,
                true,
                "BackOff",
                "Pod/data-5d9c7b-x2k4q",
                "Back-off restarting failed container data in pod data-5d9c7b-x2k4q_hasura(uid)",
                (12, 529, 40),
            ),
            event(
                &app,
                false,
                "Started",
                "Pod/data-5d9c7b-x2k4q",
                "Started container data",
                (13, 530, 41),
            ),
        ]);
        let screen = show(&mut app, detail);
        assert!(
            screen.contains(
                "last termination of data: Error, exit code 1, 40s ago: fatal: cannot reach"
            ),
            "{screen}"
        );
        assert!(screen.contains("40s (x12 over 8m49s)"), "{screen}");
        insta::assert_snapshot!("detail_crash_loop", screen);
    }

    #[test]
    fn scaled_to_zero() {
        let mut app = opened();
        let mut detail = base(&app);
        detail.workload = Part::Ready(Some(workload(&app, 0, 0)));
        detail.pods = Part::Ready(Vec::new());
        detail.ports = vec![port(&[], &[])];
        detail.events = Part::Ready(vec![event(
            &app,
            false,
            "ScalingReplicaSet",
            "Deployment/data",
            "Scaled down replica set data-5d9c7b from 1 to 0",
            (1, 90, 90),
        )]);
        let screen = show(&mut app, detail);
        assert!(screen.contains("none (scaled to 0"), "{screen}");
        insta::assert_snapshot!("detail_scaled_to_zero", screen);
    }

    #[test]
    fn two_pods_one_terminating() {
        let mut app = opened();
        let mut detail = base(&app);
        detail.workload = Part::Ready(Some(workload(&app, 1, 1)));
        detail.pods = Part::Ready(vec![
            pod(&app, "data-5d9c7b-x2k4q", "Terminating", 1),
            pod(&app, "data-6f7d8e-b9c1d", "Running", 1),
        ]);
        detail.ports = vec![port(&["data-6f7d8e-b9c1d"], &["data-5d9c7b-x2k4q"])];
        let screen = show(&mut app, detail);
        assert!(
            screen.contains("terminating: data-5d9c7b-x2k4q"),
            "{screen}"
        );
        insta::assert_snapshot!("detail_two_pods_one_terminating", screen);
    }

    #[test]
    fn forbidden_events_leave_the_rest() {
        let mut app = opened();
        let mut detail = base(&app);
        detail.events = Part::Forbidden("events is forbidden".into());
        let screen = show(&mut app, detail);
        assert!(
            screen.contains("forbidden: these credentials may not read events"),
            "{screen}"
        );
        assert!(screen.contains("data-5d9c7b-x2k4q"), "{screen}");
        insta::assert_snapshot!("detail_forbidden_events", screen);
        // Esc: back to the table, the follower stopped, the selection where it was.
        app.effects.clear();
        app.update(Action::CloseDetail);
        assert!(app.detail.is_none());
        assert_eq!(app.effects, vec![Effect::StopDetail]);
        assert_eq!(app.selected().map(|m| m.name.as_str()), Some("data"));
    }
}

/// A request with what gateway mode keeps of it.
fn kept_request(seq: u64, role: &str, user: &str, replay_of: Option<u64>) -> RequestEntry {
    use hasura_tui::forward::exchange::{BodyPreview, Exchange};
    let response = format!(
        r#"{{"role":"{role}","rows":{}}}"#,
        if role == "admin" { 12 } else { 0 }
    );
    RequestEntry {
        seq,
        method: "POST".into(),
        path: "/v1/query".into(),
        status: Some(200),
        duration: Duration::from_millis(2),
        bytes: response.len() as u64,
        role: Some(role.into()),
        complete: true,
        note: replay_of.map(|of| format!("replay of #{of} as {role} {user}")),
        at: std::time::SystemTime::UNIX_EPOCH,
        user_id: Some(user.into()),
        replay_of,
        exchange: Some(Arc::new(Exchange {
            target: "/v1/query".into(),
            request_headers: vec![
                ("content-type".into(), "application/json".into()),
                ("x-hasura-role".into(), role.into()),
            ],
            injected: vec!["x-hasura-role".into()],
            request_body: BodyPreview {
                head: bytes::Bytes::from_static(br#"{"type":"select"}"#),
                total: 17,
            },
            response_headers: vec![("content-type".into(), "application/json".into())],
            response_body: BodyPreview {
                total: response.len() as u64,
                head: bytes::Bytes::from(response),
            },
            bodies_dropped: false,
        })),
    }
}

#[test]
fn request_log_inspects_asks_for_an_identity_replays_and_compares() {
    use hasura_tui::app::{RequestView, RequestsAction as R};
    let mut app = app(seed(), 120, 40, Instant::now());
    app.update(Action::SwitchTable);
    app.update(Action::Move(1));
    let key = ForwardKey::new("hasura", "data");
    let mut forwards = std::collections::BTreeMap::new();
    forwards.insert(
        key.clone(),
        ForwardView {
            gateway: Some(GatewayIdentity::admin()),
            requests: 1,
            ..forward_view(ForwardState::Active, Some(8080), StatsView::default())
        },
    );
    app.update(Action::Forwards(forwards));
    app.update(Action::ToggleRequestLog);
    app.update(Action::Requests(
        vec![kept_request(1, "admin", "0", None)],
        1,
    ));

    app.update(Action::RequestLog(R::Inspect));
    assert_eq!(
        app.request_log.as_ref().unwrap().view,
        RequestView::Inspect { seq: 1, scroll: 0 }
    );
    let screen = draw(&app);
    assert!(screen.contains("+ x-hasura-role: admin"), "{screen}");
    assert!(screen.contains("\"type\": \"select\""), "{screen}");

    // `=` before any replay says how to make one.
    app.update(Action::RequestLog(R::Compare));
    assert_eq!(
        app.flash.as_ref().map(|f| f.text.as_str()),
        Some("#1 has no replay yet: p or P sends it again")
    );
    // P: a bad answer is refused, a good one becomes the effect and is offered next time.
    app.update(Action::RequestLog(R::AskIdentity));
    assert!(draw(&app).contains("replay as (role user-id"));
    for c in "us@r 1".chars() {
        app.update(Action::RequestLog(R::Input(c)));
    }
    app.update(Action::RequestLog(R::Submit));
    assert!(app.effects.is_empty(), "an invalid role is not sent");
    assert!(app.flash.as_ref().unwrap().text.contains("letters, digits"));
    app.update(Action::RequestLog(R::Cancel));
    app.update(Action::RequestLog(R::AskIdentity));
    for c in "user 42".chars() {
        app.update(Action::RequestLog(R::Input(c)));
    }
    app.update(Action::RequestLog(R::Submit));
    assert_eq!(
        app.effects.pop(),
        Some(Effect::Replay(
            key.clone(),
            1,
            Some(GatewayIdentity::new("user", "42"))
        ))
    );
    app.update(Action::RequestLog(R::AskIdentity));
    assert_eq!(
        app.request_log.as_ref().unwrap().asking.as_deref(),
        Some("user 42"),
        "the last identity is offered first"
    );
    app.update(Action::RequestLog(R::Cancel));
    // P on a request that is let go while the identity is typed replays nothing else.
    app.update(Action::RequestLog(R::AskIdentity));
    app.update(Action::Requests(
        vec![kept_request(7, "admin", "0", None)],
        7,
    ));
    app.update(Action::RequestLog(R::Submit));
    assert!(app.effects.is_empty(), "{:?}", app.effects);
    assert_eq!(
        app.flash.as_ref().map(|f| f.text.as_str()),
        Some("#1 is no longer kept (the log keeps the last 200)")
    );

    // The replay arrives; `=` on the original compares the two.
    app.update(Action::Requests(
        vec![
            kept_request(1, "admin", "0", None),
            kept_request(2, "user", "42", Some(1)),
        ],
        2,
    ));
    app.update(Action::RequestLog(R::Compare));
    assert_eq!(
        app.request_log.as_ref().unwrap().view,
        RequestView::Compare {
            left: 1,
            right: 2,
            scroll: 0
        }
    );
    let screen = draw(&app);
    assert!(screen.contains("response body: - #1  + #2"), "{screen}");
    assert!(screen.contains("-   \"rows\": 12"), "{screen}");
    assert!(screen.contains("+   \"rows\": 0"), "{screen}");
    // y copies it as curl through the forward's local port.
    app.update(Action::RequestLog(R::CopyCurl));
    match app.effects.pop() {
        Some(Effect::Copy(command)) => {
            assert!(
                command.starts_with("curl -sS -g http://127.0.0.1:8080/v1/query"),
                "{command}"
            )
        }
        other => panic!("{other:?}"),
    }
}
