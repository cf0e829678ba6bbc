//! What runs when someone execs into a demo pod: a small command interpreter in this process,
//! never a host program (this server must not hand out a shell on the machine it runs on).
//! It plays a busybox image: `/bin/sh` and a few applets (`files::APPLETS`), no `/bin/bash`, so
//! a client's bash-then-sh fallback is exercised, and a missing program fails to start as
//! containerd reports it.
//!
//! With a TTY it does what the pod's terminal would: echoes what is typed, edits the line
//! (backspace, `^U`, `^C`), turns `\n` into `\r\n`, sends stderr down stdout, and answers
//! `stty size` with the last size the client sent.

mod applets;
mod files;
mod words;

use std::collections::VecDeque;

use tokio::sync::mpsc;

/// What the client sends the process.
#[derive(Debug)]
pub enum Input {
    Stdin(Vec<u8>),
    /// The client closed stdin (v5's CLOSE signal), or never asked for it.
    StdinClosed,
    Resize {
        width: u16,
        height: u16,
    },
}

#[derive(Debug, PartialEq, Eq)]
pub enum Output {
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
}

/// The pod and container a process runs in.
#[derive(Clone, Debug, Default)]
pub struct PodView {
    pub name: String,
    pub namespace: String,
    pub ip: String,
    /// The container's environment, from its manifest (`value` entries).
    pub env: Vec<(String, String)>,
}

/// How a process ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Exited(i32),
    /// The program could not be started; the runtime's words for why.
    StartFailed(String),
}

/// `PS1` of busybox `sh` for root in `/`.
const PROMPT: &str = "/ # ";

/// Runs `argv` in the pod until it exits or the client goes (its input channel closes).
pub async fn run(
    pod: PodView,
    argv: Vec<String>,
    tty: bool,
    input: mpsc::Receiver<Input>,
    output: mpsc::Sender<Output>,
) -> Outcome {
    let Some(program) = argv.first() else {
        return Outcome::StartFailed("exec: no command".into());
    };
    let Some(applet) = files::executable(program) else {
        // containerd's words (as kubectl prints them: "OCI runtime exec failed: exec failed:
        // unable to start container process: exec: \"ps\": executable file not found in
        // $PATH: unknown", kubernetes issue reports from 2023 on).
        let why = if program.contains('/') {
            format!("exec: \"{program}\": stat {program}: no such file or directory: unknown")
        } else {
            format!("exec: \"{program}\": executable file not found in $PATH: unknown")
        };
        return Outcome::StartFailed(why);
    };
    let mut process = Process::new(pod, tty, input, output);
    let code = process.applet(applet, &argv[1..]).await;
    Outcome::Exited(code)
}

/// What a command line asks of the shell after it ran.
enum Flow {
    Continue,
    Exit(i32),
}

struct Process {
    pod: PodView,
    env: Vec<(String, String)>,
    tty: bool,
    input: mpsc::Receiver<Input>,
    output: mpsc::Sender<Output>,
    /// Stdin bytes received and not yet read.
    pending: VecDeque<u8>,
    stdin_closed: bool,
    /// The client went away: every read ends and the shell exits.
    gone: bool,
    /// Rows and columns, from the last resize.
    size: (u16, u16),
    last_status: i32,
}

impl Process {
    fn new(
        pod: PodView,
        tty: bool,
        input: mpsc::Receiver<Input>,
        output: mpsc::Sender<Output>,
    ) -> Self {
        // What a container's process starts with: the image's PATH, HOSTNAME (the runtime
        // sets it to the pod's hostname), the manifest's env, HOME, and TERM with a TTY
        // (containerd's `WithTTY`).
        let mut env = vec![
            (
                "PATH".to_string(),
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
            ),
            ("HOSTNAME".to_string(), pod.name.clone()),
        ];
        env.extend(pod.env.iter().cloned());
        if tty {
            env.push(("TERM".to_string(), "xterm".to_string()));
        }
        env.push(("HOME".to_string(), "/root".to_string()));
        Process {
            pod,
            env,
            tty,
            input,
            output,
            pending: VecDeque::new(),
            stdin_closed: false,
            gone: false,
            size: (0, 0),
            last_status: 0,
        }
    }

    fn var(&self, name: &str) -> Option<String> {
        match name {
            "?" => Some(self.last_status.to_string()),
            "$" => Some("1".to_string()),
            _ => self
                .env
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone()),
        }
    }

    fn set_var(&mut self, name: &str, value: &str) {
        match self.env.iter_mut().find(|(k, _)| k == name) {
            Some(entry) => entry.1 = value.to_string(),
            None => self.env.push((name.to_string(), value.to_string())),
        }
    }

    /// Takes in what the client sent, one message; false when there is nothing more to come.
    async fn receive(&mut self) -> bool {
        if self.gone {
            return false;
        }
        match self.input.recv().await {
            Some(Input::Stdin(bytes)) => self.pending.extend(bytes),
            Some(Input::StdinClosed) => self.stdin_closed = true,
            Some(Input::Resize { width, height }) => self.size = (height, width),
            None => self.gone = true,
        }
        true
    }

    /// The next stdin byte; `None` at end of input.
    async fn next_byte(&mut self) -> Option<u8> {
        loop {
            if let Some(b) = self.pending.pop_front() {
                return Some(b);
            }
            if self.stdin_closed || !self.receive().await {
                return None;
            }
        }
    }

    /// Writes `text` as the program wrote it; the TTY turns `\n` into `\r\n`.
    async fn out(&mut self, text: &str) {
        let bytes = if self.tty {
            text.replace('\n', "\r\n").into_bytes()
        } else {
            text.as_bytes().to_vec()
        };
        self.raw(Output::Stdout(bytes)).await;
    }

    /// An error line; with a TTY it goes down stdout (the one terminal).
    async fn err(&mut self, text: &str) {
        if self.tty {
            self.out(text).await;
        } else {
            self.raw(Output::Stderr(text.as_bytes().to_vec())).await;
        }
    }

    async fn raw(&mut self, output: Output) {
        if self.output.send(output).await.is_err() {
            self.gone = true;
        }
    }

    /// One line of input: with a TTY, edited and echoed as the line discipline does; `None`
    /// at end of input (`^D` on an empty line).
    async fn read_line(&mut self) -> Option<String> {
        let mut line: Vec<u8> = Vec::new();
        loop {
            let Some(b) = self.next_byte().await else {
                return (!line.is_empty()).then(|| String::from_utf8_lossy(&line).into_owned());
            };
            if !self.tty {
                if b == b'\n' {
                    return Some(String::from_utf8_lossy(&line).into_owned());
                }
                line.push(b);
                continue;
            }
            match b {
                b'\r' | b'\n' => {
                    self.raw(Output::Stdout(b"\r\n".to_vec())).await;
                    return Some(String::from_utf8_lossy(&line).into_owned());
                }
                0x7f | 0x08 => {
                    // One character back: a UTF-8 lead byte and its continuation bytes.
                    let mut erased = false;
                    while let Some(last) = line.pop() {
                        erased = true;
                        if last & 0xc0 != 0x80 {
                            break;
                        }
                    }
                    if erased {
                        self.raw(Output::Stdout(b"\x08 \x08".to_vec())).await;
                    }
                }
                0x15 => {
                    let chars = String::from_utf8_lossy(&line).chars().count();
                    line.clear();
                    let erase = "\x08 \x08".repeat(chars);
                    self.raw(Output::Stdout(erase.into_bytes())).await;
                }
                0x03 => {
                    self.raw(Output::Stdout(b"^C\r\n".to_vec())).await;
                    self.last_status = 130;
                    return Some(String::new());
                }
                0x04 if line.is_empty() => return None,
                0x1b => self.skip_escape().await,
                b if b >= 0x20 => {
                    line.push(b);
                    self.raw(Output::Stdout(vec![b])).await;
                }
                _ => {}
            }
        }
    }

    /// Drops a terminal escape sequence (arrow keys): no history or cursor movement here.
    async fn skip_escape(&mut self) {
        if self.next_byte().await != Some(b'[') {
            return;
        }
        while let Some(b) = self.next_byte().await {
            if (0x40..=0x7e).contains(&b) {
                return;
            }
        }
    }

    /// The interactive shell: a prompt (with a TTY), a line, run it; until `exit` or the end
    /// of input.
    async fn interactive(&mut self) -> i32 {
        loop {
            if self.tty {
                self.raw(Output::Stdout(PROMPT.as_bytes().to_vec())).await;
            }
            let Some(line) = self.read_line().await else {
                return self.last_status;
            };
            if let Flow::Exit(code) = Box::pin(self.run_line(&line)).await {
                return code;
            }
            if self.gone {
                return self.last_status;
            }
        }
    }

    /// Runs one command line.
    async fn run_line(&mut self, line: &str) -> Flow {
        let commands = match words::parse(line) {
            Ok(commands) => commands,
            Err(words::SyntaxError(why)) => {
                self.err(&format!("sh: {why}\n")).await;
                self.last_status = 2;
                return Flow::Continue;
            }
        };
        for command in commands {
            let run = match command.join {
                words::Join::First | words::Join::Then => true,
                words::Join::And => self.last_status == 0,
                words::Join::Or => self.last_status != 0,
            };
            if !run {
                continue;
            }
            let argv: Vec<String> = command
                .words
                .iter()
                .map(|w| words::expand(w, |name| self.var(name)))
                .collect();
            if let Flow::Exit(code) = self.run_command(&argv).await {
                return Flow::Exit(code);
            }
        }
        Flow::Continue
    }

    /// One command in the shell: an assignment, a shell builtin, or an applet.
    async fn run_command(&mut self, argv: &[String]) -> Flow {
        let Some(name) = argv.first() else {
            return Flow::Continue;
        };
        let is_assignment = |w: &String| {
            w.split_once('=').is_some_and(|(k, _)| {
                !k.is_empty()
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !k.starts_with(|c: char| c.is_ascii_digit())
            })
        };
        if argv.iter().all(is_assignment) {
            for (k, v) in argv.iter().filter_map(|w| w.split_once('=')) {
                self.set_var(k, v);
            }
            self.last_status = 0;
            return Flow::Continue;
        }
        self.last_status = match name.as_str() {
            "exit" => {
                let code = match argv.get(1) {
                    None => self.last_status,
                    Some(n) => match n.parse::<i64>() {
                        Ok(n) => (n & 0xff) as i32,
                        Err(_) => {
                            self.err(&format!("sh: exit: Illegal number: {n}\n")).await;
                            2
                        }
                    },
                };
                return Flow::Exit(code);
            }
            "export" => {
                for (k, v) in argv[1..].iter().filter_map(|w| w.split_once('=')) {
                    self.set_var(k, v);
                }
                0
            }
            "cd" => match argv.get(1).map(String::as_str) {
                None | Some("/") | Some("~") => 0,
                Some(dir) => {
                    self.err(&format!(
                        "sh: cd: can't cd to {dir}: No such file or directory\n"
                    ))
                    .await;
                    2
                }
            },
            _ => match files::executable(name) {
                Some(applet) => Box::pin(self.applet(applet, &argv[1..])).await,
                None => {
                    self.err(&format!("sh: {name}: not found\n")).await;
                    127
                }
            },
        };
        Flow::Continue
    }
}

#[cfg(test)]
mod tests;
