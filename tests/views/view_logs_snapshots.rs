//! What the logs pane and the footer's transient messages look like, as text snapshots over
//! ratatui's TestBackend, driven through `update` with the actions the event loop sends.
use std::sync::Arc;
use std::time::Instant;

use crate::common;

use common::screen::draw;
use hasura_tui::app::{Action, App, Effect, LogsAction};
use hasura_tui::cluster::{SectionView, Snapshot, WatchState};
use hasura_tui::logs::{ContainerChoice, LogEvent};
use hasura_tui::model::{Microservice, PerSection, Section, Status, WorkloadKind};

fn row(section: Section, name: &str, external: bool) -> Microservice {
    let namespace = match section {
        Section::Custom => "default",
        Section::Hasura => "hasura",
    };
    Microservice {
        name: name.into(),
        namespace: namespace.into(),
        section,
        workload_kind: Some(WorkloadKind::Deployment),
        status: Status::Running,
        ready: 2,
        desired: 2,
        internal_url: Some(format!("{name}.{namespace}")),
        external_url: external.then(|| format!("http://{name}.gram29.hasura-app.io")),
        external_source: None,
        usage: None,
        ports: vec![],
        created: None,
        selector: Default::default(),
    }
}

fn view(section: Section, rows: Vec<Microservice>) -> SectionView {
    SectionView {
        section,
        namespace: rows[0].namespace.clone(),
        rows: hasura_tui::cluster::rows(rows),
        state: WatchState::Synced,
        stale: false,
        notes: Vec::new(),
        metrics: Default::default(),
    }
}

fn app(width: u16, height: u16) -> App {
    let snapshot = Arc::new(Snapshot {
        sections: PerSection {
            custom: view(Section::Custom, vec![row(Section::Custom, "my-app", true)]),
            hasura: view(
                Section::Hasura,
                vec![
                    row(Section::Hasura, "data", true),
                    row(Section::Hasura, "postgres", false),
                ],
            ),
        },
        routes_error: None,
        routes_listed: true,
        route_sources: Default::default(),
        cluster_name: "gram29".into(),
        resource_version: 1,
        generation: 1,
    });
    common::screen::app(snapshot, width, height, Instant::now())
}

fn line(source: &str, text: &str) -> LogEvent {
    LogEvent::Line {
        source: Arc::from(source),
        text: text.into(),
    }
}

/// Opens data's logs; returns the session the pane expects lines for.
fn open_data_logs(app: &mut App) -> u64 {
    app.update(Action::SwitchTable);
    app.update(Action::Logs(LogsAction::Open));
    let effects = std::mem::take(&mut app.effects);
    match effects.as_slice() {
        [
            Effect::StartLogs {
                session,
                namespace,
                name,
                containers: ContainerChoice::Default,
            },
        ] => {
            assert_eq!((namespace.as_str(), name.as_str()), ("hasura", "data"));
            *session
        }
        other => panic!("expected one StartLogs, got {other:?}"),
    }
}

#[test]
fn logs_pane_following_two_pods() {
    let mut app = app(100, 14);
    let session = open_data_logs(&mut app);
    insta::assert_snapshot!("logs_pane_waiting", draw(&app));
    let mut events = Vec::new();
    for n in 0..20 {
        let pod = if n % 2 == 0 {
            "data-7d4b9-x2k4q"
        } else {
            "data-7d4b9-m9zt1"
        };
        events.push(line(
            pod,
            &format!("2026-11-28T22:10:{n:02}Z INFO handled request #{n}"),
        ));
    }
    events.push(LogEvent::Notice("pod data-7d4b9-x2k4q gone".into()));
    events.push(line(
        "data-7d4b9-p3vbn",
        "2026-11-28T22:10:09Z INFO starting data (pod data-7d4b9-p3vbn)",
    ));
    assert!(app.update(Action::Logs(LogsAction::Events(session, events))));
    let screen = draw(&app);
    assert!(screen.contains("following"), "{screen}");
    insta::assert_snapshot!("logs_pane_following", screen);

    // Lines of an earlier pane (another session) are dropped.
    assert!(!app.update(Action::Logs(LogsAction::Events(
        session + 1,
        vec![line("other", "stale")]
    ))));

    app.update(Action::Logs(LogsAction::Scroll(-3)));
    let screen = draw(&app);
    assert!(
        screen.contains("scrolled (3 newer lines below, G follows)"),
        "{screen}"
    );
    insta::assert_snapshot!("logs_pane_scrolled", screen);

    app.update(Action::Logs(LogsAction::Close));
    assert_eq!(app.effects, vec![Effect::StopLogs]);
    assert!(draw(&app).contains("Hasura microservices"));
}

/// The follower of `app`'s last StartLogs effect: its session and containers.
fn started(app: &mut App) -> (u64, ContainerChoice) {
    match std::mem::take(&mut app.effects).as_slice() {
        [
            Effect::StartLogs {
                session,
                containers,
                ..
            },
        ] => (*session, containers.clone()),
        other => panic!("expected one StartLogs, got {other:?}"),
    }
}

#[test]
fn c_cycles_the_containers_of_a_pod_with_a_sidecar() {
    let mut app = app(110, 10);
    let session = open_data_logs(&mut app);
    // One container known: `c` says so and starts nothing.
    app.update(Action::Logs(LogsAction::NextContainer));
    assert!(app.effects.is_empty());
    assert!(draw(&app).contains("data has one container"));
    app.flash = None;

    let containers = LogEvent::Containers {
        names: vec!["data".into(), "istio-proxy".into()],
        default: Some("data".into()),
    };
    let first = line("data-7d4b9-x2k4q", "INFO handled request #1");
    app.update(Action::Logs(LogsAction::Events(
        session,
        vec![containers, first],
    )));
    let screen = draw(&app);
    assert!(screen.contains("container data (default)"), "{screen}");
    assert!(
        screen.contains("c container"),
        "the footer offers c:\n{screen}"
    );

    app.update(Action::Logs(LogsAction::NextContainer));
    let (sidecar, choice) = started(&mut app);
    assert_eq!(choice, ContainerChoice::Named("istio-proxy".into()));
    assert!(sidecar > session);
    let screen = draw(&app);
    assert!(screen.contains("container istio-proxy "), "{screen}");
    assert!(
        !screen.contains("handled request"),
        "the data lines went:\n{screen}"
    );

    app.update(Action::Logs(LogsAction::NextContainer));
    let (all, choice) = started(&mut app);
    assert_eq!(choice, ContainerChoice::All);
    let lines = vec![
        line("data-7d4b9-x2k4q/data", "INFO handled request #2"),
        line(
            "data-7d4b9-x2k4q/istio-proxy",
            "[2026-11-30T09:00:00Z] \"GET / HTTP/1.1\" 200",
        ),
    ];
    // Lines for the superseded follower are not shown.
    assert!(!app.update(Action::Logs(LogsAction::Events(
        sidecar,
        vec![line("data-7d4b9-x2k4q", "late")]
    ))));
    app.update(Action::Logs(LogsAction::Events(all, lines)));
    insta::assert_snapshot!("logs_pane_all_containers", draw(&app));

    app.update(Action::Logs(LogsAction::NextContainer));
    assert_eq!(started(&mut app).1, ContainerChoice::Named("data".into()));
}

#[test]
fn open_and_copy_say_what_happened_in_the_footer() {
    let mut app = app(120, 12);
    app.update(Action::CopyInternal);
    assert_eq!(app.effects, vec![Effect::Copy("my-app.default".into())]);
    insta::assert_snapshot!("footer_copied", draw(&app));
    app.effects.clear();

    app.update(Action::OpenExternal);
    assert_eq!(
        app.effects,
        vec![Effect::OpenUrl("http://my-app.gram29.hasura-app.io".into())]
    );
    app.effects.clear();

    app.update(Action::SwitchTable);
    app.update(Action::Move(1));
    app.update(Action::OpenExternal);
    assert!(app.effects.is_empty());
    let screen = draw(&app);
    assert!(
        screen.contains("postgres has no external URL: add a routes.yaml route, an Ingress, or the hasura.io/external-url annotation"),
        "{screen}"
    );
    // The message goes after a few ticks.
    let mut ticks = 0;
    while app.flash.is_some() {
        app.update(Action::Tick(Instant::now()));
        ticks += 1;
        assert!(ticks < 10, "the message never went away");
    }
    assert!(!draw(&app).contains("no external URL"));
}
