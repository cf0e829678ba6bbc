//! A command line of the demo pods' `sh`, split as a POSIX shell splits it (single and double
//! quotes, backslash, `$NAME`, `${NAME}`, `$?`, `#` comments) into commands joined by `;`, `&&`
//! and `||`. Expansion waits until a command runs, so `X=1; echo $X` sees the new value.
//! Pipes, redirections and substitutions are refused by name rather than misread.

/// A part of a word: text as written, or a variable to expand when the command runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Var(String),
}

pub type Word = Vec<Piece>;

/// How a command is joined to the one before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Join {
    First,
    /// `;`: whatever the last one did.
    Then,
    /// `&&`: only after a success.
    And,
    /// `||`: only after a failure.
    Or,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    pub join: Join,
    pub words: Vec<Word>,
}

/// A line the demo shell cannot run, worded as busybox `sh` words it where it has a word for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError(pub String);

pub fn parse(line: &str) -> Result<Vec<Command>, SyntaxError> {
    let mut commands = Vec::new();
    let mut current = Command {
        join: Join::First,
        words: Vec::new(),
    };
    let mut word: Word = Vec::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    let push_text = |word: &mut Word, c: char| match word.last_mut() {
        Some(Piece::Text(text)) => text.push(c),
        _ => word.push(Piece::Text(c.to_string())),
    };
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    current.words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '#' if !in_word => break,
            '\'' => {
                in_word = true;
                word.push(Piece::Text(String::new()));
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => push_text(&mut word, c),
                        None => return Err(unterminated()),
                    }
                }
            }
            '"' => {
                in_word = true;
                word.push(Piece::Text(String::new()));
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => push_text(&mut word, c),
                            Some(c) => {
                                push_text(&mut word, '\\');
                                push_text(&mut word, c);
                            }
                            None => return Err(unterminated()),
                        },
                        Some('$') => variable(&mut chars, &mut word)?,
                        Some('`') => return Err(unsupported("`")),
                        Some(c) => push_text(&mut word, c),
                        None => return Err(unterminated()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    push_text(&mut word, c);
                }
            }
            '$' => {
                in_word = true;
                variable(&mut chars, &mut word)?;
            }
            ';' | '&' | '|' => {
                let join = match (c, chars.peek()) {
                    (';', _) => Join::Then,
                    ('&', Some('&')) => Join::And,
                    ('|', Some('|')) => Join::Or,
                    ('|', _) => return Err(unsupported("|")),
                    _ => return Err(unsupported("&")),
                };
                if join != Join::Then {
                    chars.next();
                }
                if in_word {
                    current.words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                if current.words.is_empty() {
                    let token = match join {
                        Join::And => "&&",
                        Join::Or => "||",
                        _ => ";",
                    };
                    return Err(SyntaxError(format!("syntax error: unexpected \"{token}\"")));
                }
                commands.push(std::mem::replace(
                    &mut current,
                    Command {
                        join,
                        words: Vec::new(),
                    },
                ));
            }
            '<' | '>' | '`' | '(' | ')' => return Err(unsupported(&c.to_string())),
            c => {
                in_word = true;
                push_text(&mut word, c);
            }
        }
    }
    if in_word {
        current.words.push(word);
    }
    if !current.words.is_empty() {
        commands.push(current);
    } else if current.join == Join::And || current.join == Join::Or {
        return Err(SyntaxError("syntax error: unexpected end of file".into()));
    }
    Ok(commands)
}

/// After a `$`: `?`, `$`, `{NAME}` or `NAME`; a lone `$` is itself.
fn variable(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    word: &mut Word,
) -> Result<(), SyntaxError> {
    match chars.peek().copied() {
        Some('?') | Some('$') => {
            let c = chars.next().unwrap_or('?');
            word.push(Piece::Var(c.to_string()));
        }
        Some('{') => {
            chars.next();
            let mut name = String::new();
            loop {
                match chars.next() {
                    Some('}') => break,
                    Some(c) if c.is_ascii_alphanumeric() || c == '_' => name.push(c),
                    Some(_) | None => {
                        return Err(SyntaxError("syntax error: bad substitution".into()));
                    }
                }
            }
            word.push(Piece::Var(name));
        }
        Some('(') => return Err(unsupported("$(")),
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {
            let mut name = String::new();
            while let Some(&c) = chars.peek() {
                if !(c.is_ascii_alphanumeric() || c == '_') {
                    break;
                }
                name.push(c);
                chars.next();
            }
            word.push(Piece::Var(name));
        }
        _ => word.push(Piece::Text("$".into())),
    }
    Ok(())
}

fn unterminated() -> SyntaxError {
    SyntaxError("syntax error: unterminated quoted string".into())
}

fn unsupported(what: &str) -> SyntaxError {
    SyntaxError(format!(
        "{what}: not supported by this demo shell (no pipes, redirections or substitutions)"
    ))
}

/// A word with its variables replaced by `lookup`'s values (empty when unset).
pub fn expand(word: &Word, lookup: impl Fn(&str) -> Option<String>) -> String {
    word.iter()
        .map(|piece| match piece {
            Piece::Text(text) => text.clone(),
            Piece::Var(name) => lookup(name).unwrap_or_default(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(line: &str) -> Vec<(Join, Vec<String>)> {
        let lookup = |name: &str| (name == "HOSTNAME").then(|| "data-1".to_string());
        parse(line)
            .unwrap()
            .into_iter()
            .map(|c| (c.join, c.words.iter().map(|w| expand(w, lookup)).collect()))
            .collect()
    }

    #[test]
    fn words_split_as_a_posix_shell_splits_them() {
        assert_eq!(
            flat(r#"echo 'a  b' "c $HOSTNAME" d\ e ${HOSTNAME}x $NOPE"#),
            vec![(
                Join::First,
                vec!["echo", "a  b", "c data-1", "d e", "data-1x", ""]
                    .into_iter()
                    .map(String::from)
                    .collect()
            )]
        );
        assert_eq!(flat("echo hi # a comment").len(), 1);
        assert_eq!(flat("  ").len(), 0);
        assert_eq!(flat("echo ''")[0].1, vec!["echo", ""]);
    }

    #[test]
    fn commands_join_by_semicolon_and_or() {
        let joins: Vec<Join> = flat("true; false && echo x || echo y")
            .into_iter()
            .map(|(j, _)| j)
            .collect();
        assert_eq!(joins, vec![Join::First, Join::Then, Join::And, Join::Or]);
    }

    #[test]
    fn what_it_cannot_run_is_refused_by_name() {
        assert!(parse("echo 'open").unwrap_err().0.contains("unterminated"));
        assert!(parse("ls | wc").unwrap_err().0.starts_with("|"));
        assert!(parse("echo $(id)").unwrap_err().0.starts_with("$("));
        assert!(parse("&& echo").unwrap_err().0.contains("unexpected"));
        assert!(parse("echo x > f").unwrap_err().0.starts_with(">"));
    }
}
