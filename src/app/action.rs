//! What reaches `update` (actions: keys, the cluster, the clock, forwards) and what `update`
//! asks of the event loop in return (effects), so neither side reaches into the other.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use super::{LogsAction, ShellRequest};
use crate::change::{Change, Workload};
use crate::cluster::Snapshot;
use crate::forward::{ForwardKey, ForwardSpec, ForwardView, GatewayIdentity, RequestEntry};
use crate::logs::ContainerChoice;

/// Something the user (or the cluster) asked for.
#[derive(Clone, Debug)]
pub enum Action {
    Move(isize),
    Page(isize),
    Top,
    Bottom,
    SwitchTable,
    StartFilter,
    FilterInput(char),
    FilterBackspace,
    FinishFilter,
    ClearFilter,
    ToggleHelp,
    /// Scrolls the help when it is taller than the screen.
    HelpScroll(isize),
    Quit,
    Resize(u16, u16),
    Snapshot(Arc<Snapshot>),
    /// Time passed (the header's "reconnecting (Ns)" counts).
    Tick(Instant),
    /// "Now" for the frame about to be drawn (ages), nothing else.
    Clock(Instant),
    /// The dashboard moved to another cluster (the event loop opened it).
    SwitchedCluster(Box<super::SwitchedCluster>),
    /// `f`/Enter: start or stop the selected microservice's forward.
    ToggleForward,
    /// `F`: the forward dialog for the selected microservice.
    OpenForwardDialog,
    DialogInput(char),
    DialogBackspace,
    DialogMove(isize),
    DialogSubmit,
    DialogCancel,
    /// The forwards as the manager reports them.
    Forwards(BTreeMap<ForwardKey, ForwardView>),
    /// `a`: cycle the selected forward's gateway headers off / anonymous / admin.
    CycleGateway,
    /// `r`: open or close the request log of the selected forward.
    ToggleRequestLog,
    /// The open request log's entries, and the forward's request count they reflect.
    Requests(Vec<RequestEntry>, u64),
    /// A key in the open request log.
    RequestLog(super::requests::RequestsAction),
    /// `Y`: the copy-as menu of the selected microservice.
    OpenCopyMenu,
    /// A key in the copy-as menu.
    CopyMenu(super::copy_menu::MenuAction),
    /// `C`: the context picker.
    OpenContextPicker,
    /// A key in the context picker.
    ContextPicker(super::contexts::PickerKey),
    /// `p`: every forward of every cluster.
    OpenForwardsView,
    ForwardsView(super::forwards_view::ForwardsKey),
    /// The forwards of the clusters not on screen, as they are now.
    AwayForwards(Vec<super::forwards_view::AwayForward>),
    /// `:`: the command line (`:ctx`).
    StartCommand,
    Command(super::contexts::PickerKey),
    /// `l` and the logs pane's keys and lines.
    Logs(LogsAction),
    /// `o`: open the selected microservice's external URL.
    OpenExternal,
    /// `y`: copy its internal URL.
    CopyInternal,
    /// `R`: restart the selected microservice (after a y/N prompt).
    Restart,
    /// `S`: scale it (after a prompt for the count).
    Scale,
    PromptInput(char),
    PromptBackspace,
    PromptSubmit,
    PromptCancel,
    /// `s`: a shell in the selected microservice's pod.
    Shell,
    /// `d`: the detail view of the selected microservice.
    OpenDetail,
    CloseDetail,
    /// A new account of it from the watches.
    Detail(Box<crate::detail::Detail>),
    DetailScroll(isize),
    /// Its running pods, for the person to pick one.
    PickPod(ShellRequest, Vec<String>),
    PickerMove(isize),
    PickerSubmit,
    PickerCancel,
    /// A message for the footer, for a few seconds.
    Notify(String),
    /// A lasting warning for the header (something refused at start-up).
    Warn(String),
    /// How signing in stands now.
    SignIn(crate::auth::SignIn),
}

/// What `update` asks the event loop to do (the only way state reaches the outside).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    ToggleForward(ForwardSpec),
    StartForward(ForwardSpec),
    /// Gateway mode on (with this identity) or off for a running forward.
    SetGateway(ForwardKey, Option<GatewayIdentity>),
    /// Move the view to another kubeconfig context (forwards stay where they are).
    SwitchContext(String),
    /// Stop a forward of the cluster on screen (never starts one, as a toggle would).
    StopForward(ForwardKey),
    /// Stop a forward of a cluster not on screen.
    StopForwardOn(String, ForwardKey),
    /// Send a logged request of a forward again, as it went out or as another identity.
    Replay(ForwardKey, u64, Option<GatewayIdentity>),
    /// Follow a microservice's logs for pane `session` (replacing any follower).
    StartLogs {
        session: u64,
        namespace: String,
        name: String,
        containers: ContainerChoice,
    },
    StopLogs,
    OpenUrl(String),
    /// Put text on the clipboard (OSC 52).
    Copy(String),
    /// Restart or scale a workload (`change`); its outcome comes back as a notice.
    Change(Workload, Change),
    /// A shell in a microservice's pod: the checks and the pod list, then the terminal.
    Shell(ShellRequest),
    /// Follow a microservice for the detail view (replacing any follower).
    StartDetail(crate::detail::live::Seed),
    StopDetail,
}
