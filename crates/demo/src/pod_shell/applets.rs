//! The programs in a demo pod's `/bin`, each worded as its busybox applet answers.

use std::time::Duration;

use super::files::{self, Entry};
use super::{Flow, Output, Process};

impl Process {
    /// Runs applet `name` with `args`; its exit status.
    pub(super) async fn applet(&mut self, name: &str, args: &[String]) -> i32 {
        match name {
            "sh" => self.sh(args).await,
            "echo" => {
                let (newline, args) = match args.first().map(String::as_str) {
                    Some("-n") => (false, &args[1..]),
                    _ => (true, args),
                };
                let mut text = args.join(" ");
                if newline {
                    text.push('\n');
                }
                self.out(&text).await;
                0
            }
            "env" => {
                let text: String = self.env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
                self.out(&text).await;
                0
            }
            "printenv" => match args.first() {
                None => Box::pin(self.applet("env", &[])).await,
                Some(name) => match self.var(name) {
                    Some(value) => {
                        self.out(&format!("{value}\n")).await;
                        0
                    }
                    None => 1,
                },
            },
            "hostname" => {
                let name = self.pod.name.clone();
                self.out(&format!("{name}\n")).await;
                0
            }
            "cat" => self.cat(args).await,
            "ls" => self.ls(args).await,
            "sleep" => self.sleep(args).await,
            "stty" => self.stty(args).await,
            "pwd" => {
                self.out("/\n").await;
                0
            }
            "true" => 0,
            "false" => 1,
            "uname" => {
                let text = match args.first().map(String::as_str) {
                    Some("-a") => {
                        format!("Linux {} 6.1.0-demo #1 SMP x86_64 Linux\n", self.pod.name)
                    }
                    _ => "Linux\n".to_string(),
                };
                self.out(&text).await;
                0
            }
            "id" => {
                self.out("uid=0(root) gid=0(root) groups=0(root)\n").await;
                0
            }
            "whoami" => {
                self.out("root\n").await;
                0
            }
            other => {
                self.err(&format!("sh: {other}: not found\n")).await;
                127
            }
        }
    }

    /// `sh`, `sh -c SCRIPT`, or `sh FILE` (there are no scripts to run).
    async fn sh(&mut self, args: &[String]) -> i32 {
        match args.first().map(String::as_str) {
            None | Some("-i") | Some("-l") => self.interactive().await,
            Some("-c") => {
                let Some(script) = args.get(1) else {
                    self.err("sh: -c requires an argument\n").await;
                    return 2;
                };
                for line in script.lines() {
                    if let Flow::Exit(code) = self.run_line(line).await {
                        return code;
                    }
                }
                self.last_status
            }
            Some(file) => {
                self.err(&format!(
                    "sh: can't open '{file}': No such file or directory\n"
                ))
                .await;
                2
            }
        }
    }

    async fn cat(&mut self, args: &[String]) -> i32 {
        if args.is_empty() || args.iter().all(|a| a == "-") {
            // Stdin to stdout, line by line (a TTY's line discipline hands over whole lines).
            while let Some(line) = self.read_line().await {
                self.out(&format!("{line}\n")).await;
            }
            return 0;
        }
        let mut status = 0;
        for path in args {
            match files::lookup(&self.pod, path) {
                Some(Entry::File(text)) => self.out(&text).await,
                Some(Entry::Dir(_)) => {
                    self.err("cat: read error: Is a directory\n").await;
                    status = 1;
                }
                None => {
                    self.err(&format!(
                        "cat: can't open '{path}': No such file or directory\n"
                    ))
                    .await;
                    status = 1;
                }
            }
        }
        status
    }

    async fn ls(&mut self, args: &[String]) -> i32 {
        let paths: Vec<String> = if args.is_empty() {
            vec!["/".to_string()]
        } else {
            args.to_vec()
        };
        let mut status = 0;
        for path in &paths {
            let names = match files::lookup(&self.pod, path) {
                Some(Entry::Dir(names)) => names,
                Some(Entry::File(_)) => vec![path.clone()],
                None => {
                    self.err(&format!("ls: {path}: No such file or directory\n"))
                        .await;
                    status = 1;
                    continue;
                }
            };
            if names.is_empty() {
                continue;
            }
            // To a terminal, ls sets names side by side; to a pipe, one per line.
            let separator = if self.tty { "  " } else { "\n" };
            self.out(&format!("{}\n", names.join(separator))).await;
        }
        status
    }

    /// `sleep N`: `^C` on a TTY cuts it short (130), as does the client leaving.
    async fn sleep(&mut self, args: &[String]) -> i32 {
        let seconds = match args.first().map(|a| a.parse::<f64>()) {
            Some(Ok(s)) if s >= 0.0 && s.is_finite() => s,
            Some(_) => {
                let arg = args.first().cloned().unwrap_or_default();
                self.err(&format!("sleep: invalid number '{arg}'\n")).await;
                return 1;
            }
            None => {
                self.err("BusyBox v1.36.1 multi-call binary.\n\nUsage: sleep [N]...\n")
                    .await;
                return 1;
            }
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(seconds.min(86_400.0));
        loop {
            if self.tty && self.pending.contains(&0x03) {
                self.pending.retain(|b| *b != 0x03);
                self.raw(Output::Stdout(b"^C\r\n".to_vec())).await;
                return 130;
            }
            if self.gone {
                return 130;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return 0,
                more = self.receive() => if !more { return 130 },
            }
        }
    }

    /// `stty size` answers `rows cols` of the TTY; without one there is nothing to ask.
    async fn stty(&mut self, args: &[String]) -> i32 {
        if !self.tty {
            self.err("stty: standard input: Not a tty\n").await;
            return 1;
        }
        if args.first().map(String::as_str) == Some("size") {
            let (rows, cols) = self.size;
            self.out(&format!("{rows} {cols}\n")).await;
        }
        0
    }
}
